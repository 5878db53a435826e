"""KPI definitions, KPI reports and their values. A granted VC sees finalized reports and values only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Uuid,
    cast,
    delete,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
)

from db.financials_records import KpiDefinitionRecord, KpiReportRecord, KpiValueRecord
from db.financials_tables import kpi_definitions, kpi_reports, kpi_values
from db.session import RequestTransaction

_defs = kpi_definitions.c
_reports = kpi_reports.c
_values = kpi_values.c


# Definitions ---------------------------------------------------------------------------------------------


async def definitions_of(tx: RequestTransaction, tenant_id: UUID) -> list[KpiDefinitionRecord]:
    query = select(kpi_definitions).where(_defs.tenant_id == tenant_id).order_by(_defs.key)
    return [KpiDefinitionRecord(**r._mapping) for r in (await tx.execute(query)).all()]


async def definition_by_id(tx: RequestTransaction, definition_id: UUID) -> KpiDefinitionRecord | None:
    row = (await tx.execute(select(kpi_definitions).where(_defs.id == definition_id))).first()
    return KpiDefinitionRecord(**row._mapping) if row else None


async def insert_definition(tx: RequestTransaction, tenant_id: UUID, fields: Mapping[str, Any]) -> KpiDefinitionRecord:
    statement = insert(kpi_definitions).values(tenant_id=tenant_id, **fields).returning(*kpi_definitions.columns)
    row = (await tx.execute(statement)).one()
    return KpiDefinitionRecord(**row._mapping)


async def update_definition(
    tx: RequestTransaction, tenant_id: UUID, definition_id: UUID, fields: Mapping[str, Any]
) -> KpiDefinitionRecord | None:
    statement = (
        update(kpi_definitions)
        .where(_defs.tenant_id == tenant_id, _defs.id == definition_id)
        .values(**fields)
        .returning(*kpi_definitions.columns)
    )
    row = (await tx.execute(statement)).first()
    return KpiDefinitionRecord(**row._mapping) if row else None


async def delete_definition(tx: RequestTransaction, tenant_id: UUID, definition_id: UUID) -> bool:
    statement = (
        delete(kpi_definitions).where(_defs.tenant_id == tenant_id, _defs.id == definition_id).returning(_defs.id)
    )
    return (await tx.execute(statement)).first() is not None


# Reports and values --------------------------------------------------------------------------------------


async def reports_in(
    tx: RequestTransaction, tenant_id: UUID, overlapping: tuple[date | None, date | None]
) -> list[KpiReportRecord]:
    """The tenant's KPI reports whose period overlaps [from, to], by period."""
    query = select(kpi_reports).where(_reports.tenant_id == tenant_id)
    start, end = overlapping
    if start is not None:
        query = query.where(_reports.period_end >= start)
    if end is not None:
        query = query.where(_reports.period_start <= end)
    query = query.order_by(_reports.period_start, _reports.period_end, _reports.id)
    return [KpiReportRecord(**r._mapping) for r in (await tx.execute(query)).all()]


async def report_by_id(tx: RequestTransaction, report_id: UUID, *, lock: bool = False) -> KpiReportRecord | None:
    """`lock` holds the row until the transaction ends, so that a concurrent finalization waits for an edit."""
    query = select(kpi_reports).where(_reports.id == report_id)
    if lock:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    return KpiReportRecord(**row._mapping) if row else None


async def final_report_for(
    tx: RequestTransaction, tenant_id: UUID, period_start: date, period_end: date
) -> KpiReportRecord | None:
    query = select(kpi_reports).where(
        _reports.tenant_id == tenant_id,
        _reports.period_start == period_start,
        _reports.period_end == period_end,
        _reports.status == "final",
    )
    row = (await tx.execute(query)).first()
    return KpiReportRecord(**row._mapping) if row else None


def _value_columns() -> list[ColumnElement[Any]]:
    """The columns of a KpiValueRecord, from kpi_values joined to its report and definition."""
    return [
        _values.tenant_id,
        _values.report_id,
        _reports.period_start,
        _reports.period_end,
        _values.definition_id,
        _defs.key,
        _defs.name,
        _defs.unit,
        _defs.currency,
        _defs.direction,
        _values.value,
    ]


def _values_with_definitions() -> Select[Any]:
    return (
        select(*_value_columns())
        .join(kpi_reports, (_reports.tenant_id == _values.tenant_id) & (_reports.id == _values.report_id))
        .join(kpi_definitions, (_defs.tenant_id == _values.tenant_id) & (_defs.id == _values.definition_id))
    )


async def values_of(
    tx: RequestTransaction, reports: Sequence[tuple[UUID, UUID]]
) -> dict[tuple[UUID, UUID], list[KpiValueRecord]]:
    """Values of many reports (keys `(tenant_id, report_id)`) in one statement, by KPI key."""
    found: dict[tuple[UUID, UUID], list[KpiValueRecord]] = {key: [] for key in reports}
    if not reports:
        return found
    query = (
        _values_with_definitions()
        .where(tuple_(_values.tenant_id, _values.report_id).in_(list(reports)))
        .order_by(_values.tenant_id, _values.report_id, _defs.key)
    )
    for row in (await tx.execute(query)).all():
        value = KpiValueRecord(**row._mapping)
        found[(value.tenant_id, value.report_id)].append(value)
    return found


async def latest_final_reports(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> dict[UUID, KpiReportRecord]:
    """The latest finalized KPI report of each tenant that has one (latest period end; the shorter period on a
    tie, so a month wins over the quarter ending with it). One statement for any number of tenants."""
    if not tenant_ids:
        return {}
    wanted = func.unnest(cast(list(tenant_ids), ARRAY(Uuid))).table_valued("id").render_derived(name="wanted")
    latest = (
        select(kpi_reports)
        .where(_reports.tenant_id == wanted.c.id, _reports.status == "final")
        .order_by(_reports.period_end.desc(), _reports.period_start.desc(), _reports.finalized_at.desc())
        .limit(1)
        .lateral("latest")
    )
    query = select(latest).select_from(wanted).join(latest, true())
    return {r.tenant_id: KpiReportRecord(**r._mapping) for r in (await tx.execute(query)).all()}


async def latest_final_kpis(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> dict[UUID, list[KpiValueRecord]]:
    """The values of each tenant's latest finalized KPI report, by KPI key; every requested tenant is a key
    ([] when it has no finalized report, or the policies hide them). ONE statement for any number of tenants.

    Rows come through the policies (a VC sees the startups that granted it `financials`); auditing the read
    with `app.record_grant_read` is the caller's job (the resolvers do it once per request, with one array).
    """
    found: dict[UUID, list[KpiValueRecord]] = {t: [] for t in tenant_ids}
    if not tenant_ids:
        return found
    wanted = func.unnest(cast(list(found), ARRAY(Uuid))).table_valued("id").render_derived(name="wanted")
    candidate = kpi_reports.alias("candidate")
    latest = (
        select(candidate.c.tenant_id, candidate.c.id.label("report_id"))
        .where(candidate.c.tenant_id == wanted.c.id, candidate.c.status == "final")
        .order_by(candidate.c.period_end.desc(), candidate.c.period_start.desc(), candidate.c.finalized_at.desc())
        .limit(1)
        .lateral("latest")
    )
    query = (
        select(*_value_columns())
        .select_from(wanted)
        .join(latest, true())
        .join(kpi_reports, (_reports.tenant_id == latest.c.tenant_id) & (_reports.id == latest.c.report_id))
        .join(kpi_values, (_values.tenant_id == _reports.tenant_id) & (_values.report_id == _reports.id))
        .join(kpi_definitions, (_defs.tenant_id == _values.tenant_id) & (_defs.id == _values.definition_id))
        .order_by(_values.tenant_id, _defs.key)
    )
    for row in (await tx.execute(query)).all():
        value = KpiValueRecord(**row._mapping)
        found[value.tenant_id].append(value)
    return found


async def insert_report(tx: RequestTransaction, tenant_id: UUID, fields: Mapping[str, Any]) -> KpiReportRecord:
    statement = (
        insert(kpi_reports)
        .values(tenant_id=tenant_id, created_by=tx.context.user_id, **fields)
        .returning(*kpi_reports.columns)
    )
    row = (await tx.execute(statement)).one()
    return KpiReportRecord(**row._mapping)


async def update_report(
    tx: RequestTransaction, tenant_id: UUID, report_id: UUID, fields: Mapping[str, Any]
) -> KpiReportRecord | None:
    statement = (
        update(kpi_reports)
        .where(_reports.tenant_id == tenant_id, _reports.id == report_id)
        .values(**fields)
        .returning(*kpi_reports.columns)
    )
    row = (await tx.execute(statement)).first()
    return KpiReportRecord(**row._mapping) if row else None


async def replace_values(tx: RequestTransaction, tenant_id: UUID, report_id: UUID, values: Mapping[UUID, Any]) -> None:
    """Replace the report's values with `values` (definition id → Decimal)."""
    await tx.execute(delete(kpi_values).where(_values.tenant_id == tenant_id, _values.report_id == report_id))
    if values:
        rows = [
            {"tenant_id": tenant_id, "report_id": report_id, "definition_id": d, "value": v} for d, v in values.items()
        ]
        await tx.execute(insert(kpi_values).values(rows))


async def delete_report(tx: RequestTransaction, tenant_id: UUID, report_id: UUID) -> bool:
    statement = delete(kpi_reports).where(_reports.tenant_id == tenant_id, _reports.id == report_id)
    return (await tx.execute(statement.returning(_reports.id))).first() is not None
