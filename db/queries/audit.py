"""The append-only audit trail: reading it (newest first) and logging reads through a grant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Uuid, bindparam, select, text

from db.compiled import columns_of, compiled
from db.pagination import Keyset, Page, Window
from db.records import AuditEventRecord
from db.session import RequestTransaction
from db.tables import audit_events


@dataclass(frozen=True)
class GrantRead:
    """Rows of `startups` read under `scope`, for the field family `subject`."""

    startups: tuple[UUID, ...]
    scope: str
    subject: str


_RECORD_GRANT_READ = compiled(text("select app.record_grant_read(cast(:startups as uuid[]), :scope, :subject)"))
_PAGE = Keyset(
    select(*columns_of(audit_events, AuditEventRecord)).where(
        audit_events.c.tenant_id == bindparam("tenant_id", type_=Uuid)
    ),
    [audit_events.c.id],
    AuditEventRecord,
    descending=True,
)


async def record_grant_reads(tx: RequestTransaction, reads: Sequence[GrantRead]) -> None:
    """Append `grant.read` events (only where a grant for the scope is active: the function checks) in a
    transaction of their own beside `tx`, committed before this returns."""
    reads = [r for r in reads if r.startups]
    if not reads:
        return
    async with tx.aside() as side:  # one round trip: BEGIN, the context, the reads, COMMIT
        await side.write_alone(
            [
                (
                    _RECORD_GRANT_READ,
                    {"startups": [str(s) for s in read.startups], "scope": read.scope, "subject": read.subject},
                )
                for read in reads
            ]
        )


async def audit_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[AuditEventRecord]:
    return await _PAGE.page(tx, window, {"tenant_id": tenant_id})
