"""Closing every billed tenant's invoice as a background job on the procrastinate queue.

The request inserts the run row (`invoice_runs`, status queued) and defers the job in the same transaction.
The job runs :func:`resolvers.billing.runs.close_all` as the requesting billing admin (user and operator tenant
in its arguments), one transaction per invoice; each transaction also counts its outcome in the run row, so
`invoiceRun(id)` shows closed/total as it goes. Register the task on the queue's app with
:func:`register_tasks` and run a worker on :data:`INVOICE_QUEUE`.

A run whose worker died is retried by the queue (:mod:`resolvers.job_recovery`) and resumes: every invoice
it closes carries the idempotency key :func:`resolvers.billing.runs.run_key` of (run, tenant), so the tenants its
dead attempt closed are found again (counted ``closed``, not ``already_closed``, and never closed twice), the
counters restart from zero, and the run ends with the same figures as an uninterrupted one. Past its retry
budget it ends ``failed`` with the reason.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from uuid import UUID

import procrastinate

from cost import CostStore
from db.billing_records import InvoiceRunRecord
from db.errors import PolicyViolation
from db.queries import costs, invoices
from db.session import Database
from policies.principal import TenantKind
from resolvers.billing.access import BILLING_ADMINS
from resolvers.billing.runs import CloseSummary, close_all, run_request
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime
from resolvers.job_recovery import JobTimings

_logger = logging.getLogger("roundpool.jobs")

INVOICE_QUEUE = "invoices"
CLOSE_TASK = "close_invoices"


async def queue_close_all(ctx: RequestContext, period: str) -> InvoiceRunRecord:
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    period = period_of(period)
    async with ctx.tx.savepoint():
        try:
            run = await invoices.insert_run(ctx.tx, acting.id, period)
            args = {"run_id": str(run.id), "tenant_id": str(acting.id), "user_id": str(ctx.tx.context.user_id)}
            # One close-all at a time per operator. Not the store lock: a close only reads the store, and the
            # period lock it takes keeps later imports out of the period.
            job_id = await costs.defer_job(
                ctx.tx, queue=INVOICE_QUEUE, task=CLOSE_TASK, lock=f"close-invoices:{acting.id}", args=json.dumps(args)
            )
            queued = await invoices.update_run(ctx.tx, run.id, job_id=job_id)
        except PolicyViolation as error:
            raise Forbidden("only the operator's billing admins close invoices") from error
    assert queued is not None
    return queued


async def run_close_job(
    database: Database, store: CostStore, run_id: UUID, requester: Member, *, attempt: int = 0, max_retries: int = 2
) -> CloseSummary:
    """What the task does (tests call it directly too); `attempt` > 0 resumes after a dead worker."""
    runtime = RequestRuntime(database, max_page_size=1, cost_store=store)
    async with run_request(runtime, requester, run_id) as ctx:
        tx = ctx.tx
        run = await invoices.run_by_id(tx, run_id)
        if run is None:
            raise Forbidden(f"invoice run {run_id} is not visible to its requester's context")
        if run.finished:
            return _summary(run)  # the worker died after the run's last write
        if attempt > max_retries:
            reason = f"the worker stopped during the run; retried {attempt - 1} times"
            _logger.error("invoice run %s: %s", run_id, reason)
            given_up = await invoices.update_run(
                tx,
                run_id,
                status="failed",
                errors=[*run.errors, {"tenant": None, "reason": reason}],
                finished_at=datetime.now(UTC),
            )
            assert given_up is not None
            return _summary(given_up)
    return await close_all(database, store, requester, run.period, run_id=run_id, resume=attempt > 0)


def _summary(run: InvoiceRunRecord) -> CloseSummary:
    return CloseSummary(
        period=run.period,
        total=run.total,
        closed=run.closed,
        already_closed=run.already_closed,
        no_data=run.no_data,
        failed=run.failed,
        errors=list(run.errors),
    )


def register_tasks(app: procrastinate.App, database: Database, store: CostStore, timings: JobTimings) -> None:
    """Add the billing task (closing every billed tenant's invoice) to the queue's app."""

    @app.task(name=CLOSE_TASK, queue=INVOICE_QUEUE, pass_context=True)
    async def close_invoices(job: procrastinate.JobContext, run_id: str, tenant_id: str, user_id: str) -> None:
        await run_close_job(
            database,
            store,
            UUID(run_id),
            Member(UUID(user_id), UUID(tenant_id)),
            attempt=job.job.attempts,
            max_retries=timings.max_retries,
        )
