"""schema/types/audit.py: an AuditEvent built from its record is the object its constructor builds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import UUID

import pytest
import strawberry
from strawberry.scalars import JSON

from db.records import AuditEventRecord
from resolvers.global_ids import encode_global_id
from schema.types.audit import AuditEvent

_TENANT = UUID("5d0c6f1e-9a53-4c1b-9a62-0c3f4f0d2a11")
_USER = UUID("a1e6c2f0-3b7d-4e58-8f21-6d9b0c4e7a33")


@pytest.mark.parametrize(("user", "tenant"), [(_USER, _TENANT), (None, None)])
def test_from_record_fills_every_field_as_the_constructor_does(user: UUID | None, tenant: UUID | None) -> None:
    record = AuditEventRecord(
        tenant_id=_TENANT,
        id=41,
        occurred_at=datetime(2026, 12, 4, 15, 30, tzinfo=UTC),
        actor_user_id=user,
        actor_tenant_id=tenant,
        action="member.invited",
        subject_type="invitation",
        subject_id="inv-1",
        details={"email": "a@example.com", "roles": ["admin"]},
    )

    event = AuditEvent.from_record(record)

    expected = AuditEvent(
        id=strawberry.ID("41"),
        occurred_at=record.occurred_at,
        action="member.invited",
        subject_type="invitation",
        subject_id="inv-1",
        actor_user_id=None if user is None else strawberry.ID(encode_global_id("User", user)),
        actor_tenant_id=None if tenant is None else strawberry.ID(encode_global_id("Tenant", tenant)),
        details=JSON(record.details),
    )
    assert type(event) is AuditEvent
    assert vars(event) == vars(expected)
    assert set(vars(event)) == {f.name for f in dataclasses.fields(AuditEvent)}  # a field added is filled too
