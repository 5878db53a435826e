"""Cost report assemblies and their parts (rows of `cost_imports` with an `assembly_id`).

Every function runs in the caller's transaction, under its context (policies of migration 0015).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, and_, case, func, insert, select, text, update

from db.cost_records import AssemblyProgress, CostAssemblyRecord, CostImportRecord
from db.cost_tables import cost_assemblies, cost_imports
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

LIVE = ("queued", "publishing", "succeeded")
_LOCK = text("select pg_advisory_xact_lock(hashtextextended(:key, 0))")


def _assembly(row: Row[*tuple[Any, ...]]) -> CostAssemblyRecord:
    return CostAssemblyRecord(**row._mapping)


async def insert_assembly(tx: RequestTransaction, tenant_id: UUID, **values: Any) -> CostAssemblyRecord:
    statement = (
        insert(cost_assemblies)
        .values(tenant_id=tenant_id, created_by=tx.context.user_id, **values)
        .returning(*cost_assemblies.columns)
    )
    return _assembly((await tx.execute(statement)).one())


async def insert_part(
    tx: RequestTransaction, assembly: CostAssemblyRecord, index: int, location: str, name: str, size: int
) -> CostImportRecord:
    statement = (
        insert(cost_imports)
        .values(
            tenant_id=assembly.tenant_id,
            source_uri=location,
            source_name=name,
            bytes_total=size,
            late_data=assembly.late_data,
            created_by=tx.context.user_id,
            assembly_id=assembly.id,
            part_index=index,
        )
        .returning(*cost_imports.columns)
    )
    return CostImportRecord(**(await tx.execute(statement)).one()._mapping)


async def assembly_by_id(
    tx: RequestTransaction, assembly_id: UUID, *, for_update: bool = False
) -> CostAssemblyRecord | None:
    statement = select(cost_assemblies).where(cost_assemblies.c.id == assembly_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await tx.execute(statement)).first()
    return _assembly(row) if row else None


async def same_delivery(
    tx: RequestTransaction, tenant_id: UUID, source_name: str, report: str, period: str, assembly_key: str
) -> CostAssemblyRecord | None:
    """An earlier assembly of this delivery that is still live (queued, publishing or published).

    First takes the delivery's lock until the transaction ends: a concurrent request for the same delivery
    waits here, then sees the assembly this one inserts (migration 0020's constraint holds the rule anyway)."""
    key = json.dumps([str(tenant_id), source_name, report, period, assembly_key])
    await tx.execute(_LOCK, {"key": f"cost-delivery:{key}"})
    a = cost_assemblies.c
    statement = (
        select(cost_assemblies)
        .where(
            a.tenant_id == tenant_id,
            a.source_name == source_name,
            a.report == report,
            a.period == period,
            a.assembly_key == assembly_key,
            a.status.in_(LIVE),
        )
        .order_by(a.created_at)
        .limit(1)
    )
    row = (await tx.execute(statement)).first()
    return _assembly(row) if row else None


async def newer_published(tx: RequestTransaction, assembly: CostAssemblyRecord) -> bool:
    """Whether a later assembly of the same report and period was published already."""
    a = cost_assemblies.c
    statement = select(func.count()).where(
        a.tenant_id == assembly.tenant_id,
        a.source_name == assembly.source_name,
        a.report == assembly.report,
        a.period == assembly.period,
        a.status == "succeeded",
        a.created_at > assembly.created_at,
    )
    return bool((await tx.execute(statement)).scalar_one())


async def update_assembly(tx: RequestTransaction, assembly_id: UUID, **fields: Any) -> CostAssemblyRecord | None:
    statement = (
        update(cost_assemblies)
        .where(cost_assemblies.c.id == assembly_id)
        .values(**fields)
        .returning(*cost_assemblies.columns)
    )
    row = (await tx.execute(statement)).first()
    return _assembly(row) if row else None


async def parts(tx: RequestTransaction, assembly_id: UUID) -> list[CostImportRecord]:
    statement = (
        select(cost_imports).where(cost_imports.c.assembly_id == assembly_id).order_by(cost_imports.c.part_index)
    )
    return [CostImportRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


async def progress(tx: RequestTransaction, assembly_ids: Sequence[UUID]) -> dict[UUID, AssemblyProgress]:
    i = cost_imports.c
    statement = (
        select(
            i.assembly_id,
            func.count().filter(i.status == "succeeded"),
            func.count().filter(i.status == "failed"),
            func.coalesce(func.sum(i.bytes), 0),
            func.coalesce(func.sum(case((i.bytes_total.is_(None), 0), else_=i.bytes_total)), 0),
            func.coalesce(func.sum(i.rows), 0),
        )
        .where(and_(i.assembly_id.in_(list(assembly_ids))))
        .group_by(i.assembly_id)
    )
    return {
        r[0]: AssemblyProgress(int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
        for r in (await tx.execute(statement)).all()
    }


async def assemblies_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[CostAssemblyRecord]:
    statement = select(cost_assemblies).where(cost_assemblies.c.tenant_id == tenant_id)
    bounded = keyset(statement, [cost_assemblies.c.created_at, cost_assemblies.c.id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([_assembly(r) for r in rows], window, count=counter(tx, statement))


async def parts_of(tx: RequestTransaction, assembly_ids: Sequence[UUID]) -> dict[UUID, list[CostImportRecord]]:
    """The parts of several assemblies in one query (a page of `costAssemblies`)."""
    i = cost_imports.c
    statement = select(cost_imports).where(i.assembly_id.in_(list(assembly_ids))).order_by(i.assembly_id, i.part_index)
    out: dict[UUID, list[CostImportRecord]] = {a: [] for a in assembly_ids}
    for row in (await tx.execute(statement)).all():
        record = CostImportRecord(**row._mapping)
        assert record.assembly_id is not None
        out[record.assembly_id].append(record)
    return out


async def staging_ids(tx: RequestTransaction, tenant_id: UUID) -> set[str]:
    """The store folders of assemblies still staging or publishing (what vacuum must leave alone)."""
    a = cost_assemblies.c
    statement = select(a.id).where(a.tenant_id == tenant_id, a.status.in_(("queued", "publishing")))
    return {str(i) for i in (await tx.execute(statement)).scalars().all()}
