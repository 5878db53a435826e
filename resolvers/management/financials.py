"""Financial statements: a startup's writers save drafts and finalize them; finalized reports never change and
are the only ones a VC granted `financials` reads (each read audited in the startup's trail)."""

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
from db.financials_records import FinancialLineRecord, FinancialReportRecord
from db.pagination import Page
from db.queries import financials
from policies.principal import WRITER_ROLES, ActingTenant, TenantKind
from resolvers.common.amounts import checked_currency, checked_period, parse_decimal
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id, quoting_global_id
from resolvers.management.management import company_id

SCOPE = "financials"
MAX_LINES = 500
BALANCE_KEYS = ("total_assets", "total_liabilities", "total_equity")
_LINE_KEY = re.compile(r"[a-z][a-z0-9_]{0,62}")


class Statement(StrEnum):
    PROFIT_AND_LOSS = "profit_and_loss"
    BALANCE_SHEET = "balance_sheet"
    CASH_FLOW = "cash_flow"


@dataclass(frozen=True)
class LineInput:
    key: str
    amount: str
    label: str = ""
    position: int | None = None


@dataclass(frozen=True)
class ReportInput:
    statement: Statement
    period_start: date
    period_end: date
    currency: str
    lines: Sequence[LineInput]
    id: UUID | None = None


@dataclass(frozen=True)
class ReportWithLines:
    report: FinancialReportRecord
    lines: list[FinancialLineRecord]


# Validation ----------------------------------------------------------------------------------------------


def validated_lines(lines: Sequence[LineInput]) -> list[dict[str, Any]]:
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"a report holds at most {MAX_LINES} lines; got {len(lines)}", field="lines")
    seen: dict[str, int] = {}
    rows = []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if not _LINE_KEY.fullmatch(line.key):
            raise InvalidInput(
                f"line key {line.key!r} must be lower-case letters, digits and _ (such as 'revenue')",
                field=f"{where}.key",
            )
        if line.key in seen:
            raise InvalidInput(
                f"line key {line.key!r} appears twice: lines[{seen[line.key]}] and {where}", field=f"{where}.key"
            )
        seen[line.key] = index
        if len(line.label) > 200:
            raise InvalidInput("a label has at most 200 characters", field=f"{where}.label")
        amount = parse_decimal(line.amount, f"{where}.amount", scale=4, digits=16)
        position = index if line.position is None else line.position
        rows.append({"line_key": line.key, "label": line.label, "amount": amount, "position": position})
    return rows


def balance_problem(amounts: dict[str, Decimal]) -> str | None:
    """Why a balance sheet with total_assets, total_liabilities and total_equity does not balance, or None."""
    if not all(key in amounts for key in BALANCE_KEYS):
        return None
    assets, liabilities, equity = (amounts[key] for key in BALANCE_KEYS)
    difference = assets - (liabilities + equity)
    if difference == 0:
        return None
    side = "assets exceed liabilities plus equity" if difference > 0 else "liabilities plus equity exceed assets"
    return (
        f"the balance sheet does not balance: total_assets {assets} ≠ total_liabilities {liabilities}"
        f" + total_equity {equity} = {liabilities + equity}; off by {abs(difference)} ({side})"
    )


def validated_report(data: ReportInput) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report's columns and its lines, or InvalidInput naming the first wrong field."""
    checked_period(data.period_start, data.period_end)
    header = {
        "statement": data.statement.value,
        "period_start": data.period_start,
        "period_end": data.period_end,
        "currency": checked_currency(data.currency),
    }
    lines = validated_lines(data.lines)
    if data.statement is Statement.BALANCE_SHEET:
        problem = balance_problem({line["line_key"]: line["amount"] for line in lines})
        if problem is not None:
            raise InvalidInput(problem, field="lines")
    return header, lines


# Reads ---------------------------------------------------------------------------------------------------


async def _with_lines(ctx: RequestContext, reports: Sequence[FinancialReportRecord]) -> list[ReportWithLines]:
    lines = await financials.lines_of(ctx.tx, [(r.tenant_id, r.id) for r in reports])
    return [ReportWithLines(r, lines[(r.tenant_id, r.id)]) for r in reports]


async def reports_page(
    ctx: RequestContext,
    company_slug: str | None,
    statement: Statement | None,
    overlapping: tuple[date | None, date | None],
    page: PageRequest,
) -> Page[ReportWithLines]:
    tenant_id = await company_id(ctx, company_slug)
    result = await financials.reports_page(
        ctx.tx,
        tenant_id,
        statement=None if statement is None else statement.value,
        overlapping=overlapping,
        window=page,
    )
    await audit_granted_reads(ctx, [r.tenant_id for r in result.items], SCOPE, "financial_reports")
    return result.with_items(await _with_lines(ctx, result.items))


async def report(ctx: RequestContext, report_id: UUID) -> ReportWithLines:
    ctx.require_tenant()
    found = await financials.report_by_id(ctx.tx, report_id)
    if found is None:
        raise NotFound(f"no financial report {encode_global_id('FinancialReport', report_id)} is visible to you")
    await audit_granted_reads(ctx, [found.tenant_id], SCOPE, "financial_reports")
    return (await _with_lines(ctx, [found]))[0]


# Writes --------------------------------------------------------------------------------------------------


def _writer(ctx: RequestContext) -> ActingTenant:
    return ctx.require_role(WRITER_ROLES, TenantKind.STARTUP)


async def _own_draft(ctx: RequestContext, acting: ActingTenant, report_id: UUID) -> FinancialReportRecord:
    found = await financials.report_by_id(ctx.tx, report_id, lock=True)
    if found is None or found.tenant_id != acting.id:
        raise NotFound(f"no financial report {encode_global_id('FinancialReport', report_id)} in {acting.slug}")
    if found.status == "final":
        name = encode_global_id("FinancialReport", report_id)
        raise Conflict(
            f"financial report {name} ({found.statement} {found.period_start} to {found.period_end})"
            " is final and cannot be changed"
        )
    return found


async def save_report(ctx: RequestContext, data: ReportInput) -> ReportWithLines:
    """Create a draft, or replace a draft's header and lines."""
    acting = _writer(ctx)
    header, lines = validated_report(data)
    async with ctx.tx.savepoint():
        try:
            if data.id is None:
                saved: FinancialReportRecord | None = await financials.insert_report(ctx.tx, acting.id, header)
            else:
                await _own_draft(ctx, acting, data.id)
                saved = await financials.update_report(ctx.tx, acting.id, data.id, header)
            if saved is None:
                raise Forbidden("you may not edit this financial report")
            await financials.replace_lines(ctx.tx, acting.id, saved.id, lines)
        except UniqueViolation as error:
            raise Conflict(
                f"{acting.slug} already has a {data.statement.value} report for {data.period_start}"
                f" to {data.period_end}; edit that one"
            ) from error
        except PolicyViolation as error:
            raise Forbidden("you may not write financial reports") from error
        except ConstraintViolation as error:
            raise Conflict(quoting_global_id(str(error), "FinancialReport", data.id)) from error
    return (await _with_lines(ctx, [saved]))[0]


async def finalize_report(ctx: RequestContext, report_id: UUID) -> ReportWithLines:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        draft = await _own_draft(ctx, acting, report_id)
        lines = (await financials.lines_of(ctx.tx, [(draft.tenant_id, draft.id)]))[(draft.tenant_id, draft.id)]
        if not lines:
            raise InvalidInput("a report without lines cannot be finalized", field="lines")
        if draft.statement == Statement.BALANCE_SHEET.value:
            problem = balance_problem({line.line_key: line.amount for line in lines})
            if problem is not None:
                raise InvalidInput(problem, field="lines")
        try:
            final = await financials.finalize_report(ctx.tx, acting.id, report_id)
        except PolicyViolation as error:
            raise Forbidden("you may not finalize financial reports") from error
        except ConstraintViolation as error:
            raise Conflict(quoting_global_id(str(error), "FinancialReport", report_id)) from error
        if final is None:
            raise Forbidden("you may not finalize this financial report")
    return (await _with_lines(ctx, [final]))[0]


async def delete_draft(ctx: RequestContext, report_id: UUID) -> UUID:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        await _own_draft(ctx, acting, report_id)
        try:
            deleted = await financials.delete_report(ctx.tx, acting.id, report_id)
        except (PolicyViolation, ConstraintViolation) as error:
            raise Conflict(quoting_global_id(str(error), "FinancialReport", report_id)) from error
        if not deleted:
            raise Forbidden("you may not delete this financial report")
    return report_id
