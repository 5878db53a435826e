"""Registered report sources and what the sync knows of them (policies of migration 0017).

Every function runs in the caller's transaction, under its context, except :func:`due_for_sync`, which reads
the scheduler's id-only view (a security-definer function) and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.cost_records import CostAssemblyRecord, ReportSourceRecord
from db.cost_tables import cost_assemblies, cost_report_sources
from db.session import RequestTransaction


@dataclass(frozen=True)
class DueSource:
    tenant_id: UUID
    id: UUID
    created_by: UUID


def _record(row: Row[*tuple[Any, ...]]) -> ReportSourceRecord:
    return ReportSourceRecord(**row._mapping)


async def insert_source(
    tx: RequestTransaction, tenant_id: UUID, location: str, source_name: str, report_format: str, late_data: str
) -> ReportSourceRecord | None:
    """The new source; None when this operator registered that location already."""
    statement = (
        insert(cost_report_sources)
        .values(
            tenant_id=tenant_id,
            location=location,
            source_name=source_name,
            format=report_format,
            late_data=late_data,
            created_by=tx.context.user_id,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "location"])
        .returning(*cost_report_sources.columns)
    )
    row = (await tx.execute(statement)).first()
    return _record(row) if row else None


async def source_by_location(tx: RequestTransaction, tenant_id: UUID, location: str) -> ReportSourceRecord | None:
    s = cost_report_sources.c
    row = await tx.execute(select(cost_report_sources).where(s.tenant_id == tenant_id, s.location == location))
    found = row.first()
    return _record(found) if found else None


async def source_by_id(tx: RequestTransaction, source_id: UUID) -> ReportSourceRecord | None:
    row = (await tx.execute(select(cost_report_sources).where(cost_report_sources.c.id == source_id))).first()
    return _record(row) if row else None


async def sources(tx: RequestTransaction, tenant_id: UUID) -> list[ReportSourceRecord]:
    s = cost_report_sources.c
    statement = select(cost_report_sources).where(s.tenant_id == tenant_id).order_by(s.created_at, s.id)
    return [_record(r) for r in (await tx.execute(statement)).all()]


async def record_sync(tx: RequestTransaction, source_id: UUID, **fields: Any) -> None:
    statement = (
        update(cost_report_sources)
        .where(cost_report_sources.c.id == source_id)
        .values(last_synced_at=func.now(), **fields)
    )
    await tx.execute(statement)


async def known_delivery(
    tx: RequestTransaction, tenant_id: UUID, source_name: str, report: str, period: str, assembly_key: str
) -> bool:
    """Whether any assembly of this delivery exists, whatever its status (the sync queues each delivery once)."""
    a = cost_assemblies.c
    statement = select(func.count()).where(
        a.tenant_id == tenant_id,
        a.source_name == source_name,
        a.report == report,
        a.period == period,
        a.assembly_key == assembly_key,
    )
    return bool((await tx.execute(statement)).scalar_one())


async def last_assemblies(
    tx: RequestTransaction, tenant_id: UUID, locations: list[str]
) -> dict[str, CostAssemblyRecord]:
    """The newest assembly whose manifest lies under each location."""
    out: dict[str, CostAssemblyRecord] = {}
    a = cost_assemblies.c
    for location in locations:
        statement = (
            select(cost_assemblies)
            .where(a.tenant_id == tenant_id, func.starts_with(a.manifest_uri, location.rstrip("/") + "/"))
            .order_by(a.created_at.desc(), a.id.desc())
            .limit(1)
        )
        row = (await tx.execute(statement)).first()
        if row is not None:
            out[location] = CostAssemblyRecord(**row._mapping)
    return out


async def due_for_sync(conn: AsyncConnection) -> list[DueSource]:
    rows = (await conn.execute(text("select tenant_id, id, created_by from app.report_sources_to_sync()"))).all()
    return [DueSource(r[0], r[1], r[2]) for r in rows]
