"""`roundpool cost import <…-Manifest.json>` and `roundpool cost sync`: assemblies queued through the resolvers
of `importCostAssembly` and `syncReportSources`, followed with one progress bar per assembly (parts, bytes,
rows). As with single files (:mod:`cli.costs`), `--wait` runs the queue in this process when no worker is up.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from cli.costs import POLL_S, Gone, err, run_queue_here
from cli.runtime import CliError, Runtime, load_settings, prepare, user_id_by_email
from cost import CostStore, LateData
from db.session import Database
from policies.principal import Principal
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request
from resolvers.costs import assemblies as cost_assemblies
from resolvers.costs import report_sources
from resolvers.costs.assemblies import AssemblyView
from resolvers.job_recovery import JobTimings
from resolvers.jobs import create_job_app, live_workers
from schema.execution_options import request_runtime
from schema.settings import Settings

Queue = Callable[[RequestContext], Awaitable[list[UUID]]]


def _summary(view: AssemblyView) -> dict[str, Any]:
    r, p = view.record, view.progress
    return {
        "id": str(r.id),
        "status": r.status,
        "report": r.report,
        "period": r.period,
        "assembly_id": r.assembly_key,
        "parts": r.parts_total,
        "parts_done": p.parts_done,
        "parts_failed": p.parts_failed,
        "rows": p.rows,
        "bytes": p.bytes,
        "error": r.error,
    }


async def _views(runtime: RequestRuntime, principal: Principal, ids: list[UUID]) -> list[AssemblyView]:
    async with open_request(runtime, principal, request_id=uuid.uuid4().hex) as ctx:
        return [await cost_assemblies.cost_assembly(ctx, i) for i in ids]


async def _follow(
    runtime: RequestRuntime, principal: Principal, ids: list[UUID], quiet: bool, gone: Gone
) -> list[AssemblyView] | None:
    """Every assembly once finished; None when `gone()` said that nobody runs the queue any more."""
    nobody = False
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, disable=quiet) as bar:
        tasks: dict[UUID, Any] = {i: bar.add_task("queued", total=None) for i in ids}
        while True:
            views = await _views(runtime, principal, ids)
            for view in views:
                r, p = view.record, view.progress
                bar.update(
                    tasks[r.id],
                    completed=p.bytes,
                    total=p.bytes_total or None,
                    description=f"{r.report} {r.period} {r.status} · parts {p.parts_done}/{r.parts_total}"
                    f" · {p.rows:,} rows",
                )
            if all(v.record.finished for v in views):
                return views
            if nobody:
                return None
            nobody = await gone()
            await asyncio.sleep(POLL_S)


def run_assemblies(queue: Queue, user: str, tenant: str, *, wait: bool, as_json: bool) -> int:
    """Queue assemblies with `queue` as `user` acting for `tenant`, and follow them with `--wait`."""
    try:
        settings = load_settings()
        runtime = prepare(settings)
        user_id = UUID(user_id_by_email(runtime.location, user))
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        return 1
    store = CostStore(settings.cost_store_root)
    try:
        views = asyncio.run(_queue_and_wait(settings, runtime, store, queue, Member(user_id, tenant), wait, as_json))
    except (ApiError, CliError, AuthenticationFailed, TenantNotAllowed) as error:
        err.print(f"[red]error:[/red] {getattr(error, 'message', error)}")
        return 1
    if as_json:
        print(json.dumps([_summary(v) for v in views]))
    for view in views:
        r, p = view.record, view.progress
        line = (
            f"cost assembly {r.id} ({r.report} {r.period}): {r.status}, parts {p.parts_done}/{r.parts_total}, "
            f"{p.rows:,} rows"
        )
        err.print(line + (f": {r.error.get('reason')}" if r.error else ""))
    return 2 if any(v.record.status == "failed" for v in views) else 0


async def _queue_and_wait(
    settings: Settings, runtime: Runtime, store: CostStore, queue: Queue, member: Member, wait: bool, quiet: bool
) -> list[AssemblyView]:
    """Queue in one request; with `wait`, follow on the workers, or run the queue here when none is alive."""
    timings = JobTimings.of(settings)
    app_url = runtime.location.app_url
    database = Database(app_url, pool_size=4, statement_timeout_ms=settings.statement_timeout_ms)
    try:
        requests = request_runtime(settings, database, store)
        async with open_request(requests, member, request_id=uuid.uuid4().hex) as ctx:
            ids = await queue(ctx)
        principal = ctx.require_principal()
        if not wait or not ids:
            return await _views(requests, principal, ids)

        async def no_worker() -> bool:
            return not await live_workers(database, timings.stalled_after_s)

        if not await no_worker():
            followed = await _follow(requests, principal, ids, quiet, no_worker)
            if followed is not None:
                return followed
        err.print("no worker is running: processing the queue in this process")
        job_app = create_job_app(app_url, database, store, timings, sources=settings.cost_import_sources)
        followed = await run_queue_here(job_app, timings, lambda gone: _follow(requests, principal, ids, quiet, gone))
        if followed is None:
            raise CliError(
                "assemblies are still waiting for their publication (another import of this "
                "operator holds its store lock): start `roundpool worker`"
            )
        return followed
    finally:
        await database.dispose()


def import_manifest(manifest: str, late_data: LateData) -> Queue:
    async def queue(ctx: RequestContext) -> list[UUID]:
        return [(await cost_assemblies.queue_assembly(ctx, manifest, late_data)).id]

    return queue


def sync_sources(ctx: RequestContext) -> Awaitable[list[UUID]]:
    async def queue() -> list[UUID]:
        outcomes = await report_sources.sync_all(ctx)
        for outcome in outcomes:
            err.print(f"{outcome.source.location}: {len(outcome.queued)} queued, {outcome.known} known")
            for problem in outcome.problems:
                err.print(f"  [yellow]not queued:[/yellow] {problem}")
        if not outcomes:
            err.print("no report source is registered (registerReportSource)")
        return [a.id for o in outcomes for a in o.queued if a.status == "queued"]

    return queue()
