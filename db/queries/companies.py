"""Company profiles: the startup's own, and those of startups that granted the `company` scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update

from db.pagination import Page, Window, counter, keyset, page_of
from db.records import CompanyProfileRecord
from db.session import RequestTransaction
from db.tables import company_profiles


async def profiles_by_tenant(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> list[CompanyProfileRecord]:
    statement = select(company_profiles).where(company_profiles.c.tenant_id.in_(list(tenant_ids)))
    return [CompanyProfileRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


async def visible_profiles_page(tx: RequestTransaction, window: Window) -> Page[CompanyProfileRecord]:
    """Every profile the policies show: the acting startup's own and the granting startups'."""
    statement = select(company_profiles)
    rows = (await tx.execute(keyset(statement, [company_profiles.c.tenant_id], window))).all()
    return page_of([CompanyProfileRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))


async def insert_profile(tx: RequestTransaction, tenant_id: UUID, fields: dict[str, Any]) -> CompanyProfileRecord:
    statement = insert(company_profiles).values(tenant_id=tenant_id, **fields).returning(*company_profiles.columns)
    row = (await tx.execute(statement)).one()
    return CompanyProfileRecord(**row._mapping)


async def update_profile(
    tx: RequestTransaction, tenant_id: UUID, fields: dict[str, Any]
) -> CompanyProfileRecord | None:
    statement = (
        update(company_profiles)
        .where(company_profiles.c.tenant_id == tenant_id)
        .values(**fields, updated_at=func.now())
        .returning(*company_profiles.columns)
    )
    row = (await tx.execute(statement)).first()
    return CompanyProfileRecord(**row._mapping) if row else None
