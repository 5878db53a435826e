"""Financial statements and their lines. The policies decide visibility: a startup sees its own reports, a VC
granted `financials` only the finalized ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, tuple_, update

from db.financials_records import FinancialLineRecord, FinancialReportRecord
from db.financials_tables import financial_report_lines, financial_reports
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

_reports = financial_reports.c
_lines = financial_report_lines.c


async def reports_page(
    tx: RequestTransaction,
    tenant_id: UUID,
    *,
    statement: str | None,
    overlapping: tuple[date | None, date | None],
    window: Window,
) -> Page[FinancialReportRecord]:
    """The tenant's reports whose period overlaps [from, to], by period start."""
    query = select(financial_reports).where(_reports.tenant_id == tenant_id)
    if statement is not None:
        query = query.where(_reports.statement == statement)
    start, end = overlapping
    if start is not None:
        query = query.where(_reports.period_end >= start)
    if end is not None:
        query = query.where(_reports.period_start <= end)
    rows = (await tx.execute(keyset(query, [_reports.period_start, _reports.id], window))).all()
    return page_of([FinancialReportRecord(**r._mapping) for r in rows], window, count=counter(tx, query))


async def report_by_id(tx: RequestTransaction, report_id: UUID, *, lock: bool = False) -> FinancialReportRecord | None:
    """`lock` holds the row until the transaction ends, so that a concurrent finalization waits for an edit."""
    query = select(financial_reports).where(_reports.id == report_id)
    if lock:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    return FinancialReportRecord(**row._mapping) if row else None


async def lines_of(
    tx: RequestTransaction, reports: Sequence[tuple[UUID, UUID]]
) -> dict[tuple[UUID, UUID], list[FinancialLineRecord]]:
    """Lines of many reports (keys `(tenant_id, report_id)`) in one statement, in position order."""
    found: dict[tuple[UUID, UUID], list[FinancialLineRecord]] = {key: [] for key in reports}
    if not reports:
        return found
    query = (
        select(financial_report_lines)
        .where(tuple_(_lines.tenant_id, _lines.report_id).in_(list(reports)))
        .order_by(_lines.tenant_id, _lines.report_id, _lines.position, _lines.line_key)
    )
    for row in (await tx.execute(query)).all():
        line = FinancialLineRecord(**row._mapping)
        found[(line.tenant_id, line.report_id)].append(line)
    return found


async def insert_report(tx: RequestTransaction, tenant_id: UUID, fields: Mapping[str, Any]) -> FinancialReportRecord:
    statement = (
        insert(financial_reports)
        .values(tenant_id=tenant_id, created_by=tx.context.user_id, **fields)
        .returning(*financial_reports.columns)
    )
    row = (await tx.execute(statement)).one()
    return FinancialReportRecord(**row._mapping)


async def update_report(
    tx: RequestTransaction, tenant_id: UUID, report_id: UUID, fields: Mapping[str, Any]
) -> FinancialReportRecord | None:
    """None when the policies let no row change."""
    statement = (
        update(financial_reports)
        .where(_reports.tenant_id == tenant_id, _reports.id == report_id)
        .values(**fields)
        .returning(*financial_reports.columns)
    )
    row = (await tx.execute(statement)).first()
    return FinancialReportRecord(**row._mapping) if row else None


async def replace_lines(
    tx: RequestTransaction, tenant_id: UUID, report_id: UUID, lines: Sequence[Mapping[str, Any]]
) -> None:
    await tx.execute(delete(financial_report_lines).where(_lines.tenant_id == tenant_id, _lines.report_id == report_id))
    if lines:
        rows = [{"tenant_id": tenant_id, "report_id": report_id, **line} for line in lines]
        await tx.execute(insert(financial_report_lines).values(rows))


async def finalize_report(tx: RequestTransaction, tenant_id: UUID, report_id: UUID) -> FinancialReportRecord | None:
    return await update_report(tx, tenant_id, report_id, {"status": "final"})


async def delete_report(tx: RequestTransaction, tenant_id: UUID, report_id: UUID) -> bool:
    statement = (
        delete(financial_reports)
        .where(_reports.tenant_id == tenant_id, _reports.id == report_id)
        .returning(_reports.id)
    )
    return (await tx.execute(statement)).first() is not None
