"""Audit events: append-only, visible to the tenant's owners and admins."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.records import AuditEventRecord
from schema.types.node import optional_global_id


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
        return cls(
            id=strawberry.ID(str(record.id)),
            occurred_at=record.occurred_at,
            action=record.action,
            subject_type=record.subject_type,
            subject_id=record.subject_id,
            actor_user_id=optional_global_id("User", record.actor_user_id),
            actor_tenant_id=optional_global_id("Tenant", record.actor_tenant_id),
            details=JSON(record.details),
        )
