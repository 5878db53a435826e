"""The append-only audit trail, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select, tuple_

from db.pagination import Page, page_of
from db.records import AuditEventRecord
from db.session import RequestTransaction
from db.tables import audit_events


async def audit_page(
    tx: RequestTransaction, tenant_id: UUID, after: Sequence[int] | None, first: int
) -> Page[AuditEventRecord]:
    statement = select(audit_events).where(audit_events.c.tenant_id == tenant_id)
    if after is not None:
        statement = statement.where(tuple_(audit_events.c.id) < tuple_(*after))
    statement = statement.order_by(audit_events.c.id.desc()).limit(first + 1)
    rows = (await tx.execute(statement)).all()
    return page_of([AuditEventRecord(**r._mapping) for r in rows], first)
