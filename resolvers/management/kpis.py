"""KPIs: a startup defines its KPIs, reports their values per period in drafts and finalizes them; a VC granted
`financials` reads finalized reports only (each read audited in the startup's trail)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.financials_records import KpiDefinitionRecord, KpiReportRecord, KpiValueRecord
from db.queries import kpis
from policies.principal import WRITER_ROLES, ActingTenant, TenantKind
from resolvers.common.amounts import checked_currency, checked_period, parse_decimal
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.global_ids import encode_global_id, quoting_global_id
from resolvers.management.management import company_id

SCOPE = "financials"
KPI_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")


class Unit(StrEnum):
    CURRENCY = "currency"
    COUNT = "count"
    PERCENT = "percent"
    MONTHS = "months"
    RATIO = "ratio"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


# The standard KPIs keep their meaning across companies (the portfolio compares them); any other key is custom.
STANDARD_KPIS: dict[str, Unit] = {
    "arr": Unit.CURRENCY,
    "mrr": Unit.CURRENCY,
    "burn": Unit.CURRENCY,
    "runway_months": Unit.MONTHS,
    "headcount": Unit.COUNT,
    "customers": Unit.COUNT,
    "churn_rate": Unit.PERCENT,
}


@dataclass(frozen=True)
class DefinitionInput:
    key: str
    name: str
    unit: Unit
    currency: str | None = None
    direction: Direction = Direction.UP


@dataclass(frozen=True)
class ValueInput:
    key: str
    value: str


@dataclass(frozen=True)
class ReportWithValues:
    report: KpiReportRecord
    values: list[KpiValueRecord]


# Definitions ---------------------------------------------------------------------------------------------


def validated_definition(data: DefinitionInput) -> dict[str, Any]:
    if not KPI_KEY.fullmatch(data.key):
        raise InvalidInput(f"KPI key {data.key!r} must be lower-case letters, digits and _", field="key")
    standard = STANDARD_KPIS.get(data.key)
    if standard is not None and data.unit is not standard:
        raise InvalidInput(f"{data.key} is a standard KPI measured in {standard.value}", field="unit")
    if not 1 <= len(data.name.strip()) <= 200:
        raise InvalidInput("a KPI name has 1 to 200 characters", field="name")
    if data.unit is Unit.CURRENCY and data.currency is None:
        raise InvalidInput(f"{data.key} is an amount of money: give its currency", field="currency")
    if data.unit is not Unit.CURRENCY and data.currency is not None:
        raise InvalidInput(f"{data.key} is measured in {data.unit.value}, not in a currency", field="currency")
    return {
        "key": data.key,
        "name": data.name.strip(),
        "unit": data.unit.value,
        "currency": None if data.currency is None else checked_currency(data.currency),
        "direction": data.direction.value,
    }


def _writer(ctx: RequestContext) -> ActingTenant:
    return ctx.require_role(WRITER_ROLES, TenantKind.STARTUP)


async def definitions(ctx: RequestContext, company_slug: str | None) -> list[KpiDefinitionRecord]:
    tenant_id = await company_id(ctx, company_slug)
    found = await kpis.definitions_of(ctx.tx, tenant_id)
    await audit_granted_reads(ctx, [d.tenant_id for d in found], SCOPE, "kpi_definitions")
    return found


async def _own_definition(ctx: RequestContext, acting: ActingTenant, definition_id: UUID) -> KpiDefinitionRecord:
    found = await kpis.definition_by_id(ctx.tx, definition_id)
    if found is None or found.tenant_id != acting.id:
        raise NotFound(f"no KPI definition {encode_global_id('KpiDefinition', definition_id)} in {acting.slug}")
    return found


async def save_definition(
    ctx: RequestContext, data: DefinitionInput, definition_id: UUID | None
) -> KpiDefinitionRecord:
    acting = _writer(ctx)
    fields = validated_definition(data)
    async with ctx.tx.savepoint():
        try:
            if definition_id is None:
                saved: KpiDefinitionRecord | None = await kpis.insert_definition(ctx.tx, acting.id, fields)
            else:
                await _own_definition(ctx, acting, definition_id)
                saved = await kpis.update_definition(ctx.tx, acting.id, definition_id, fields)
        except UniqueViolation as error:
            raise Conflict(f"{acting.slug} already defines the KPI {data.key!r}") from error
        except PolicyViolation as error:
            raise Forbidden("you may not define KPIs") from error
        except ConstraintViolation as error:
            raise Conflict(str(error)) from error
        if saved is None:
            raise Forbidden("you may not edit this KPI definition")
    return saved


async def delete_definition(ctx: RequestContext, definition_id: UUID) -> UUID:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        found = await _own_definition(ctx, acting, definition_id)
        try:
            deleted = await kpis.delete_definition(ctx.tx, acting.id, definition_id)
        except ConstraintViolation as error:
            raise Conflict(f"KPI {found.key!r} has values in reports; remove them from drafts first") from error
        if not deleted:
            raise Forbidden("you may not delete this KPI definition")
    return definition_id


# Reports -------------------------------------------------------------------------------------------------


async def _with_values(ctx: RequestContext, reports: Sequence[KpiReportRecord]) -> list[ReportWithValues]:
    values = await kpis.values_of(ctx.tx, [(r.tenant_id, r.id) for r in reports])
    return [ReportWithValues(r, values[(r.tenant_id, r.id)]) for r in reports]


async def reports(
    ctx: RequestContext, company_slug: str | None, overlapping: tuple[date | None, date | None]
) -> list[ReportWithValues]:
    tenant_id = await company_id(ctx, company_slug)
    found = await kpis.reports_in(ctx.tx, tenant_id, overlapping)
    await audit_granted_reads(ctx, [r.tenant_id for r in found], SCOPE, "kpi_reports")
    return await _with_values(ctx, found)


async def latest_final_values(ctx: RequestContext, tenant_ids: Sequence[UUID]) -> dict[UUID, list[KpiValueRecord]]:
    """Each company's latest finalized KPI values in one statement (the portfolio), the granted reads audited."""
    found = await kpis.latest_final_kpis(ctx.tx, tenant_ids)
    await audit_granted_reads(ctx, [t for t, values in found.items() if values], SCOPE, "kpi_values")
    return found


async def latest(ctx: RequestContext, company_slug: str | None) -> ReportWithValues | None:
    """The company's latest finalized KPI report (drafts never count, even for the company itself)."""
    tenant_id = await company_id(ctx, company_slug)
    found = (await kpis.latest_final_reports(ctx.tx, [tenant_id])).get(tenant_id)
    if found is None:
        return None
    await audit_granted_reads(ctx, [found.tenant_id], SCOPE, "kpi_reports")
    return (await _with_values(ctx, [found]))[0]


def validated_values(values: Sequence[ValueInput], definitions: dict[str, KpiDefinitionRecord]) -> dict[UUID, Decimal]:
    found: dict[UUID, Decimal] = {}
    seen: dict[str, int] = {}
    for index, item in enumerate(values):
        where = f"values[{index}]"
        definition = definitions.get(item.key)
        if definition is None:
            raise InvalidInput(f"no KPI {item.key!r} is defined; define it first", field=f"{where}.key")
        if item.key in seen:
            raise InvalidInput(
                f"KPI {item.key!r} appears twice: values[{seen[item.key]}] and {where}", field=f"{where}.key"
            )
        seen[item.key] = index
        value = parse_decimal(item.value, f"{where}.value", scale=6, digits=18)
        if definition.unit == Unit.COUNT.value and (value < 0 or value != value.to_integral_value()):
            raise InvalidInput(f"{item.key} is a count: a whole number ≥ 0, not {item.value}", field=f"{where}.value")
        if definition.unit == Unit.MONTHS.value and value < 0:
            raise InvalidInput(f"{item.key} is a number of months ≥ 0, not {item.value}", field=f"{where}.value")
        found[definition.id] = value
    return found


async def _own_draft(ctx: RequestContext, acting: ActingTenant, report_id: UUID) -> KpiReportRecord:
    found = await kpis.report_by_id(ctx.tx, report_id, lock=True)
    if found is None or found.tenant_id != acting.id:
        raise NotFound(f"no KPI report {encode_global_id('KpiReport', report_id)} in {acting.slug}")
    if found.status == "final":
        name = encode_global_id("KpiReport", report_id)
        raise Conflict(f"KPI report {name} ({found.period_start} to {found.period_end}) is final and cannot be changed")
    return found


async def save_report(
    ctx: RequestContext,
    report_id: UUID | None,
    period_start: date,
    period_end: date,
    values: Sequence[ValueInput],
) -> ReportWithValues:
    """Create a draft, or replace a draft's period and values."""
    acting = _writer(ctx)
    checked_period(period_start, period_end)
    period = {"period_start": period_start, "period_end": period_end}
    async with ctx.tx.savepoint():
        by_key = {d.key: d for d in await kpis.definitions_of(ctx.tx, acting.id)}
        checked = validated_values(values, by_key)
        try:
            if report_id is None:
                saved: KpiReportRecord | None = await kpis.insert_report(ctx.tx, acting.id, period)
            else:
                await _own_draft(ctx, acting, report_id)
                saved = await kpis.update_report(ctx.tx, acting.id, report_id, period)
            if saved is None:
                raise Forbidden("you may not edit this KPI report")
            await kpis.replace_values(ctx.tx, acting.id, saved.id, checked)
        except UniqueViolation as error:
            raise Conflict(
                f"{acting.slug} already has a KPI report for {period_start} to {period_end}; edit that one"
            ) from error
        except PolicyViolation as error:
            raise Forbidden("you may not write KPI reports") from error
        except ConstraintViolation as error:
            raise Conflict(quoting_global_id(str(error), "KpiReport", report_id)) from error
    return (await _with_values(ctx, [saved]))[0]


async def finalize_report(ctx: RequestContext, report_id: UUID) -> ReportWithValues:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        draft = await _own_draft(ctx, acting, report_id)
        if not (await _with_values(ctx, [draft]))[0].values:
            raise InvalidInput("a KPI report without values cannot be finalized", field="values")
        try:
            final = await kpis.update_report(ctx.tx, acting.id, report_id, {"status": "final"})
        except PolicyViolation as error:
            raise Forbidden("you may not finalize KPI reports") from error
        except ConstraintViolation as error:
            raise Conflict(quoting_global_id(str(error), "KpiReport", report_id)) from error
        if final is None:
            raise Forbidden("you may not finalize this KPI report")
    return (await _with_values(ctx, [final]))[0]


async def delete_draft(ctx: RequestContext, report_id: UUID) -> UUID:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        await _own_draft(ctx, acting, report_id)
        try:
            deleted = await kpis.delete_report(ctx.tx, acting.id, report_id)
        except (PolicyViolation, ConstraintViolation) as error:
            raise Conflict(quoting_global_id(str(error), "KpiReport", report_id)) from error
        if not deleted:
            raise Forbidden("you may not delete this KPI report")
    return report_id
