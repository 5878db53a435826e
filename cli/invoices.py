"""`roundpool invoices close`: the resolvers of `closeInvoice` / the close-all job, run in-process for a billing
admin — one request (one transaction, the principal resolved inside it) per invoice, under the policies."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import asdict
from typing import Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.runtime import CliError, load_settings, prepare, user_id_by_email
from cost import CostStore
from db.session import Database
from resolvers.billing import closing, drafts, runs
from resolvers.common.amounts import period_of
from resolvers.common.errors import ApiError
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request

err = Console(stderr=True)


async def close_invoices(
    database: Database,
    store: CostStore,
    member: Member,
    period: str,
    tenant: str | None,
    *,
    show_progress: bool = False,
    max_page_size: int = 100,
) -> dict[str, Any]:
    """Close one tenant's invoice (`tenant`) or every billed tenant's (`None`) as `member`, a billing admin of
    an operator (else Forbidden); returns a summary."""
    started = time.perf_counter()
    if tenant is not None:
        runtime = RequestRuntime(database, max_page_size, cost_store=store)
        outcome: dict[str, Any] = {"period": period, "tenant": tenant}
        try:
            async with open_request(runtime, member, request_id=uuid.uuid4().hex) as ctx:
                record = await closing.close_invoice(ctx, tenant, period, None)
            outcome.update(status="closed", number=record.number, currency=record.currency, total=str(record.total))
        except closing.InvoiceAlreadyClosed as closed:
            outcome.update(
                status="already_closed",
                number=closed.invoice.number,
                total=str(closed.invoice.total),
                currency=closed.invoice.currency,
            )
        except drafts.PeriodHasNoData:
            outcome.update(status="no_data")
        outcome["seconds"] = round(time.perf_counter() - started, 3)
        return outcome
    if not show_progress:
        summary = await runs.close_all(database, store, member, period)
    else:
        with Progress(
            TextColumn("closing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as bar:
            task = bar.add_task(period, total=None)

            def advance(s: runs.CloseSummary) -> None:
                bar.update(task, total=s.total, completed=s.closed + s.already_closed + s.no_data + s.failed)

            summary = await runs.close_all(database, store, member, period, on_progress=advance)
    result = asdict(summary)
    result["invoices"] = {
        slug: {"number": number, "currency": currency, "total": str(total)}
        for slug, (number, currency, total) in (summary.invoice_totals or {}).items()
    }
    del result["invoice_totals"]
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def run_close(period: str, tenant: str | None, every: bool, user: str, operator: str | None, as_json: bool) -> int:
    if (tenant is None) == (not every):
        err.print("[red]error:[/red] give --tenant SLUG or --all")
        return 2
    try:
        settings = load_settings()
        runtime = prepare(settings)
        user_id = UUID(user_id_by_email(runtime.location, user))

        async def run() -> dict[str, Any]:
            database = Database(
                runtime.location.app_url, pool_size=2, statement_timeout_ms=settings.statement_timeout_ms
            )
            try:
                return await close_invoices(
                    database,
                    CostStore(settings.cost_store_root),
                    Member(user_id, operator),
                    period_of(period),
                    tenant,
                    show_progress=every and not as_json,
                    max_page_size=settings.max_page_size,
                )
            finally:
                await database.dispose()

        result = asyncio.run(run())
    except (ApiError, CliError, AuthenticationFailed, TenantNotAllowed) as error:
        err.print(f"[red]error:[/red] {getattr(error, 'message', error)}")
        return 1
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    elif tenant is not None:
        typer.echo(
            f"{tenant} {period}: {result['status']}"
            + (f" — invoice {result['number']}, {result['total']} {result['currency']}" if "number" in result else "")
        )
    else:
        typer.echo(
            f"{period}: {result['closed']} closed, {result['already_closed']} already closed, "
            f"{result['no_data']} without data, {result['failed']} failed of {result['total']} "
            f"in {result['seconds']} s"
        )
        for problem in result["errors"]:
            err.print(f"  [yellow]{problem['tenant']}[/yellow]: {problem['reason']}")
    failed = result.get("failed", 0) or result.get("status") == "no_data"
    return 1 if failed else 0
