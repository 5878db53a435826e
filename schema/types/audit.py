"""Audit events: append-only, visible to the tenant's owners and admins."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.records import AuditEventRecord
from resolvers.global_ids import encode_global_id


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    occurred_at: datetime
    action: str
    subject_type: str
    subject_id: str | None
    actor_user_id: strawberry.ID | None
    actor_tenant_id: strawberry.ID | None
    details: JSON

    @classmethod
    def from_record(cls, record: AuditEventRecord) -> AuditEvent:
        # A page builds twenty, so the fields are filled in directly rather than through the generated
        # __init__'s keywords: the type has no defaults and no __post_init__, and the object is the same
        # (tests/schema/types/test_audit.py compares it with the constructor's).
        event = object.__new__(cls)
        user, tenant = record.actor_user_id, record.actor_tenant_id
        event.__dict__.update(
            id=str(record.id),
            occurred_at=record.occurred_at,
            action=record.action,
            subject_type=record.subject_type,
            subject_id=record.subject_id,
            actor_user_id=None if user is None else encode_global_id("User", user),
            actor_tenant_id=None if tenant is None else encode_global_id("Tenant", tenant),
            details=record.details,
        )
        return event
