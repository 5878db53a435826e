"""Invoices, their lines, the close-all runs, and the period lock an invoice close takes.

Every function runs in the caller's transaction, under its context. The lifecycle rules (number at close,
immutability once closed, the only allowed change closed → void) are the database's triggers, not this code's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.billing_records import InvoiceLineRecord, InvoiceRecord, InvoiceRunRecord
from db.billing_tables import invoice_lines, invoice_runs, invoices
from db.cost_tables import cost_period_locks
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

_LOCK = text("select pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def lock_tenant_period(tx: RequestTransaction, tenant_id: UUID, period: str) -> None:
    """Serialise closes (and voids) of one tenant's period until this transaction ends."""
    await tx.execute(_LOCK, {"key": f"invoice:{tenant_id}:{period}"})


def _invoice(row: Row[*tuple[Any, ...]], lines: Iterable[InvoiceLineRecord] = ()) -> InvoiceRecord:
    return InvoiceRecord(**row._mapping, lines=tuple(lines))


async def with_lines(tx: RequestTransaction, records: Sequence[InvoiceRecord]) -> list[InvoiceRecord]:
    """The same invoices, each with its lines (one query for all)."""
    if not records:
        return []
    keys = [r.id for r in records]
    statement = (
        select(invoice_lines)
        .where(invoice_lines.c.invoice_id.in_(keys))
        .order_by(invoice_lines.c.invoice_id, invoice_lines.c.position)
    )
    by_invoice: dict[UUID, list[InvoiceLineRecord]] = defaultdict(list)
    for row in (await tx.execute(statement)).all():
        by_invoice[row.invoice_id].append(InvoiceLineRecord(**row._mapping))
    return [InvoiceRecord(**{**r.__dict__, "lines": tuple(by_invoice.get(r.id, ()))}) for r in records]


async def invoice_by_id(tx: RequestTransaction, invoice_id: UUID) -> InvoiceRecord | None:
    row = (await tx.execute(select(invoices).where(invoices.c.id == invoice_id))).first()
    return (await with_lines(tx, [_invoice(row)]))[0] if row else None


async def closed_invoice_for(tx: RequestTransaction, tenant_id: UUID, period: str) -> InvoiceRecord | None:
    statement = select(invoices).where(
        invoices.c.tenant_id == tenant_id,
        invoices.c.period == period,
        invoices.c.status == "closed",
        invoices.c.kind == "invoice",
    )
    row = (await tx.execute(statement)).first()
    return _invoice(row) if row else None


async def invoice_by_idempotency_key(tx: RequestTransaction, operator_id: UUID, key: str) -> InvoiceRecord | None:
    statement = select(invoices).where(invoices.c.operator_id == operator_id, invoices.c.idempotency_key == key)
    row = (await tx.execute(statement)).first()
    return _invoice(row) if row else None


async def insert_draft(tx: RequestTransaction, values: dict[str, Any]) -> InvoiceRecord:
    statement = insert(invoices).values(**values).returning(*invoices.columns)
    return _invoice((await tx.execute(statement)).one())


async def insert_lines(
    tx: RequestTransaction, tenant_id: UUID, invoice_id: UUID, lines: Sequence[dict[str, Any]]
) -> None:
    if not lines:
        return
    rows = [{**line, "tenant_id": tenant_id, "invoice_id": invoice_id, "position": i} for i, line in enumerate(lines)]
    await tx.execute(insert(invoice_lines), rows)


async def set_status(
    tx: RequestTransaction, tenant_id: UUID, invoice_id: UUID, status: str, void_reason: str | None = None
) -> InvoiceRecord | None:
    """draft → closed (the trigger numbers it) or closed → void; None when the policies let no row change."""
    values: dict[str, Any] = {"status": status}
    if void_reason is not None:
        values["void_reason"] = void_reason
    statement = (
        update(invoices)
        .where(invoices.c.tenant_id == tenant_id, invoices.c.id == invoice_id)
        .values(**values)
        .returning(*invoices.columns)
    )
    row = (await tx.execute(statement)).first()
    return _invoice(row) if row else None


async def invoices_page(
    tx: RequestTransaction,
    tenant_ids: Sequence[UUID] | None,
    period: str | None,
    status: str | None,
    window: Window,
) -> Page[InvoiceRecord]:
    statement = select(invoices)
    if tenant_ids is not None:
        statement = statement.where(invoices.c.tenant_id.in_(list(tenant_ids)))
    if period is not None:
        statement = statement.where(invoices.c.period == period)
    if status is not None:
        statement = statement.where(invoices.c.status == status)
    bounded = keyset(statement, [invoices.c.created_at, invoices.c.id], window)
    page = page_of([_invoice(r) for r in (await tx.execute(bounded)).all()], window, count=counter(tx, statement))
    return page.with_items(await with_lines(tx, page.items))


async def lock_period(tx: RequestTransaction, operator_id: UUID, period: str, reason: str) -> None:
    """Lock the operator's billing period against further imports (once; later closes find it locked)."""
    statement = (
        pg_insert(cost_period_locks)
        .values(tenant_id=operator_id, period=period, locked_by=tx.context.user_id, reason=reason)
        .on_conflict_do_nothing(index_elements=[cost_period_locks.c.tenant_id, cost_period_locks.c.period])
    )
    await tx.execute(statement)


# -- close-all runs -----------------------------------------------------------------------------------------


def _run(row: Row[*tuple[Any, ...]]) -> InvoiceRunRecord:
    return InvoiceRunRecord(**row._mapping)


async def insert_run(tx: RequestTransaction, tenant_id: UUID, period: str) -> InvoiceRunRecord:
    statement = (
        insert(invoice_runs)
        .values(tenant_id=tenant_id, period=period, created_by=tx.context.user_id)
        .returning(*invoice_runs.columns)
    )
    return _run((await tx.execute(statement)).one())


async def run_by_id(tx: RequestTransaction, run_id: UUID) -> InvoiceRunRecord | None:
    row = (await tx.execute(select(invoice_runs).where(invoice_runs.c.id == run_id))).first()
    return _run(row) if row else None


async def update_run(tx: RequestTransaction, run_id: UUID, **fields: Any) -> InvoiceRunRecord | None:
    statement = (
        update(invoice_runs).where(invoice_runs.c.id == run_id).values(**fields).returning(*invoice_runs.columns)
    )
    row = (await tx.execute(statement)).first()
    return _run(row) if row else None


async def claim_run(
    tx: RequestTransaction, run_id: UUID, total: int, *, resume: bool = False
) -> InvoiceRunRecord | None:
    """queued → running (once): None when invisible here or claimed before.

    `resume` (its worker died): a running run is claimed again, its counters restarted from zero."""
    statuses = ["queued", "running"] if resume else ["queued"]
    statement = (
        update(invoice_runs)
        .where(invoice_runs.c.id == run_id, invoice_runs.c.status.in_(statuses))
        .values(
            status="running",
            started_at=func.coalesce(invoice_runs.c.started_at, func.now()),
            total=total,
            closed=0,
            already_closed=0,
            no_data=0,
            failed=0,
            errors=[],
        )
        .returning(*invoice_runs.columns)
    )
    row = (await tx.execute(statement)).first()
    return _run(row) if row else None


async def count_run_outcome(tx: RequestTransaction, run_id: UUID, column: str, error: dict[str, Any] | None) -> None:
    """Add one to the run's `column` counter (and append `error`), in the invoice's own transaction."""
    values: dict[str, Any] = {column: invoice_runs.c[column] + 1}
    if error is not None:
        values["errors"] = invoice_runs.c.errors.op("||")(bindparam("error", [error], type_=JSONB))
    await tx.execute(update(invoice_runs).where(invoice_runs.c.id == run_id).values(**values))
