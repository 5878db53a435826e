"""KPI requests: a VC asks a startup that granted it `financials`; the startup answers, the VC may cancel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import insert, or_, select, text, update

from db.financials_records import KpiRequestRecord
from db.financials_tables import kpi_requests
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

_requests = kpi_requests.c


async def granted_tenants(tx: RequestTransaction, scope: str) -> list[UUID]:
    """Startups that granted the acting VC an active, unexpired grant for `scope`."""
    value = (await tx.execute(text("select app.granted_tenants(:scope)"), {"scope": scope})).scalar_one()
    return [UUID(str(v)) for v in value or []]


async def insert_request(tx: RequestTransaction, fields: Mapping[str, Any]) -> KpiRequestRecord:
    statement = insert(kpi_requests).values(requested_by=tx.context.user_id, **fields).returning(*kpi_requests.columns)
    row = (await tx.execute(statement)).one()
    return KpiRequestRecord(**row._mapping)


async def request_by_id(tx: RequestTransaction, request_id: UUID) -> KpiRequestRecord | None:
    row = (await tx.execute(select(kpi_requests).where(_requests.id == request_id))).first()
    return KpiRequestRecord(**row._mapping) if row else None


async def requests_page(
    tx: RequestTransaction, tenant_id: UUID, status: str | None, window: Window
) -> Page[KpiRequestRecord]:
    """Requests where the tenant is the startup asked or the VC asking, oldest first."""
    query = select(kpi_requests).where(or_(_requests.tenant_id == tenant_id, _requests.vc_tenant_id == tenant_id))
    if status is not None:
        query = query.where(_requests.status == status)
    rows = (await tx.execute(keyset(query, [_requests.created_at, _requests.id], window))).all()
    return page_of([KpiRequestRecord(**r._mapping) for r in rows], window, count=counter(tx, query))


async def set_status(
    tx: RequestTransaction, request: KpiRequestRecord, fields: Mapping[str, Any]
) -> KpiRequestRecord | None:
    """None when the policies let no row change."""
    statement = (
        update(kpi_requests)
        .where(_requests.tenant_id == request.tenant_id, _requests.id == request.id)
        .values(**fields)
        .returning(*kpi_requests.columns)
    )
    row = (await tx.execute(statement)).first()
    return KpiRequestRecord(**row._mapping) if row else None
