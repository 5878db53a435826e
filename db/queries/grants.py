"""Portfolio grants: a VC's request, the startup's decision, and the audit trail of granted reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, or_, select, text, update

from db.pagination import Page, Window, counter, keyset, page_of
from db.records import GrantRecord
from db.session import RequestTransaction
from db.tables import portfolio_grants


async def startup_id_by_slug(tx: RequestTransaction, slug: str) -> UUID | None:
    value = (await tx.execute(text("select app.startup_id_by_slug(:slug)"), {"slug": slug})).scalar_one()
    return value if value is None else UUID(str(value))


async def request_grant(
    tx: RequestTransaction, startup_id: UUID, vc_tenant_id: UUID, scopes: Sequence[str]
) -> GrantRecord:
    row = (
        await tx.execute(
            insert(portfolio_grants)
            .values(
                tenant_id=startup_id,
                vc_tenant_id=vc_tenant_id,
                requested_scopes=list(scopes),
                requested_by=tx.context.user_id,
            )
            .returning(*portfolio_grants.columns)
        )
    ).one()
    return GrantRecord(**row._mapping)


async def grant_by_id(tx: RequestTransaction, grant_id: UUID) -> GrantRecord | None:
    row = (await tx.execute(select(portfolio_grants).where(portfolio_grants.c.id == grant_id))).first()
    return GrantRecord(**row._mapping) if row else None


async def decide_grant(
    tx: RequestTransaction,
    grant: GrantRecord,
    *,
    status: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
) -> GrantRecord | None:
    """Update the grant as the startup; None when the policies let no row change."""
    row = (
        await tx.execute(
            update(portfolio_grants)
            .where(portfolio_grants.c.tenant_id == grant.tenant_id, portfolio_grants.c.id == grant.id)
            .values(status=status, scopes=list(scopes), expires_at=expires_at, decided_by=tx.context.user_id)
            .returning(*portfolio_grants.columns)
        )
    ).first()
    return GrantRecord(**row._mapping) if row else None


async def grants_page(tx: RequestTransaction, tenant_id: UUID, status: str | None, window: Window) -> Page[GrantRecord]:
    statement = select(portfolio_grants).where(
        or_(portfolio_grants.c.tenant_id == tenant_id, portfolio_grants.c.vc_tenant_id == tenant_id)
    )
    if status is not None:
        statement = statement.where(portfolio_grants.c.status == status)
    bounded = keyset(statement, [portfolio_grants.c.created_at, portfolio_grants.c.id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([GrantRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))
