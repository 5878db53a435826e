"""Closing every billed tenant's invoice for a period (the close-all loop the job and the CLI run) and reading a
run's progress."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cost import CostStore
from db.billing_records import InvoiceRunRecord
from db.queries import billing, invoices, tenancy
from db.records import TenantRecord
from db.session import Database
from resolvers.billing import closing
from resolvers.billing.access import require_billing_admin
from resolvers.billing.closing import InvoiceAlreadyClosed
from resolvers.billing.drafts import PeriodHasNoData
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, Forbidden, NotFound
from resolvers.common.principals import AuthenticationFailed, Identity, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request
from resolvers.global_ids import encode_global_id

_logger = logging.getLogger("roundpool.invoices")


@dataclass
class CloseSummary:
    period: str
    total: int = 0
    closed: int = 0
    already_closed: int = 0
    no_data: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] | None = None
    invoice_totals: dict[str, tuple[int | None, str, Decimal]] | None = None  # slug → (number, currency, total)


Progress = Callable[[CloseSummary], Awaitable[None] | None]


def run_key(run_id: UUID, tenant_id: UUID) -> str:
    """The idempotency key of the invoice a close-all run issues for a tenant: a resumed run finds it again."""
    return f"invoice-run:{run_id}:{tenant_id}"


async def close_all(
    database: Database,
    store: CostStore,
    requester: Identity,
    period: str,
    *,
    run_id: UUID | None = None,
    on_progress: Progress | None = None,
    resume: bool = False,
) -> CloseSummary:
    """Close `period` for every tenant the requester's operator bills: one request per invoice (a failure
    affects that tenant only), progress counted in the run row in the same transaction.

    `resume` (the run's job was retried after its worker died): the running run is claimed again and counted
    from zero; the invoices its earlier attempt issued are found by their :func:`run_key`."""
    period = period_of(period)
    summary = CloseSummary(period=period, errors=[], invoice_totals={})
    runtime = RequestRuntime(database, max_page_size=1, cost_store=store)
    async with run_request(runtime, requester, run_id) as ctx:
        require_billing_admin(ctx)  # not an empty run for anyone else: billed_tenant_ids is empty for them
        tx = ctx.tx
        ids = await billing.billed_tenant_ids(tx)
        customers = sorted(await tenancy.tenants_by_ids(tx, ids), key=lambda t: t.slug)
        if run_id is not None:
            claimed = await invoices.claim_run(tx, run_id, len(customers), resume=resume)
            if claimed is None:
                raise Forbidden(f"invoice run {run_id} is not queued or not visible to its requester")
    summary.total = len(customers)
    for customer in customers:
        column, error = await _close_one(runtime, store, requester, run_id, customer, period, summary)
        setattr(summary, column, getattr(summary, column) + 1)
        if error is not None:
            assert summary.errors is not None
            summary.errors.append(error)
        if on_progress is not None:
            result = on_progress(summary)
            if result is not None:
                await result
    if run_id is not None:
        async with run_request(runtime, requester, run_id) as ctx:
            await invoices.update_run(ctx.tx, run_id, status="succeeded", finished_at=datetime.now(UTC))
    return summary


async def _close_one(
    runtime: RequestRuntime,
    store: CostStore,
    requester: Identity,
    run_id: UUID | None,
    customer: TenantRecord,
    period: str,
    summary: CloseSummary,
) -> tuple[str, dict[str, Any] | None]:
    """Close `customer`'s invoice in a request of its own and count it in the run row in the same transaction;
    returns the summary's column and the error to list. An unexpected error rolls that request back and is
    counted in a new one, so one customer never stops the run."""
    column, error = "closed", None
    try:
        async with run_request(runtime, requester, run_id) as ctx:
            tx = ctx.tx
            try:
                key = None if run_id is None else run_key(run_id, customer.id)
                # Looked up on the module, where a test stalls it.
                record = await closing.close_for(tx, store, customer, period, key)
                assert summary.invoice_totals is not None
                summary.invoice_totals[customer.slug] = (record.number, record.currency, record.total)
            except InvoiceAlreadyClosed:
                column = "already_closed"
            except PeriodHasNoData:
                column = "no_data"
            except ApiError as problem:
                column, error = "failed", {"tenant": customer.slug, "reason": problem.message}
            if run_id is not None:
                await invoices.count_run_outcome(tx, run_id, column, error)
    except Exception:  # the tenant's transaction rolled back; count it in a new one
        _logger.exception("closing %s for %s failed", period, customer.slug)
        column, error = "failed", {"tenant": customer.slug, "reason": "internal error; see the log"}
        if run_id is not None:
            async with run_request(runtime, requester, run_id) as ctx:
                await invoices.count_run_outcome(ctx.tx, run_id, column, error)
    return column, error


@asynccontextmanager
async def run_request(
    runtime: RequestRuntime, requester: Identity, run_id: UUID | None
) -> AsyncIterator[RequestContext]:
    """One short request of the run as its requester; one who left the operator is refused like one who cannot
    see the run."""
    try:
        async with open_request(runtime, requester, request_id=uuid.uuid4().hex) as ctx:
            yield ctx
    except (AuthenticationFailed, TenantNotAllowed) as error:
        raise Forbidden(f"invoice run {run_id} is not visible to its requester's context") from error


async def invoice_run(ctx: RequestContext, run_id: UUID) -> InvoiceRunRecord:
    require_billing_admin(ctx)
    record = await invoices.run_by_id(ctx.tx, run_id)
    if record is None:
        raise NotFound(f"no invoice run {encode_global_id('InvoiceRun', run_id)} is visible to you")
    return record
