"""Report sources: a bucket prefix a billing admin registers once, synced from then on.

Registering (:func:`register_report_source`) stores only the location (``s3://bucket/prefix`` or a local
mirror folder) and its format, and only when the location lies inside a cost source the configuration gives
this operator; endpoints and credentials stay in configuration. A sync (:func:`sync_report_source`) lists
the current manifests under the location (:mod:`cost.report_sources`), skips every delivery (report, period,
assemblyId/executionId) an assembly row already records — whatever became of it, so a tick adds no row for
a delivery seen before — and queues the others through :func:`resolvers.costs.assemblies.queue_assembly`, the
very path of ``importCostAssembly``. A manifest that cannot be queued yet (a part still missing) is named in
the source's ``last_error`` and tried again at the next sync.

The scheduler (:func:`queue_due_syncs`, a periodic task) reads only ids across operators and queues one
sync job per source under its registrant's context; the job (:func:`run_report_source_sync`) resolves that
user's principal again, so a registrant who is no longer a billing admin syncs nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from cost import CostError, CostStore, LateData
from cost.assemblies import read_manifest
from cost.errors import SourceError
from cost.locations import CostSources
from cost.manifests import Manifest, parse_manifest
from cost.report_sources import ListedManifest, ReportFormat, list_manifests
from db.cost_records import CostAssemblyRecord, ReportSourceRecord
from db.errors import PolicyViolation
from db.queries import report_sources
from db.session import Database
from policies.principal import TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, Forbidden, InvalidInput, NotFound
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request
from resolvers.costs.assemblies import queue_assembly
from resolvers.costs.imports import BILLING_ADMINS

SYNC_TASK = "sync_report_source"
_MAX_ERROR = 2000
_logger = logging.getLogger("roundpool.jobs")


@dataclass(frozen=True)
class ReportSourceView:
    record: ReportSourceRecord
    last_assembly: CostAssemblyRecord | None

    def lag_seconds(self, now: datetime) -> float | None:
        """How old the newest delivery is: its manifest's last-modified, else the last assembly's creation."""
        since = self.record.last_manifest_at or (self.last_assembly.created_at if self.last_assembly else None)
        return None if since is None else max(0.0, (now - since).total_seconds())


@dataclass(frozen=True)
class SyncOutcome:
    source: ReportSourceRecord
    queued: list[CostAssemblyRecord]
    known: int  # manifests whose delivery an assembly already records
    problems: list[str]  # manifests not queued this time, each with its reason


async def register_report_source(
    ctx: RequestContext, location: str, report_format: ReportFormat, late_data: LateData = LateData.CORRECTIONS
) -> ReportSourceRecord:
    """Register `location` once; its syncs queue assemblies with `late_data` for rows of closed periods.

    CORRECTIONS by default: AWS rewrites every month once more when it finalises it, usually after the reseller
    closed and invoiced it, and that delivery must still reach the books as the difference to what was billed
    (netted and re-homed to the next open period) rather than fail the sync every time it is listed.
    """
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    try:
        folder = await asyncio.to_thread(ctx.cost_sources.resolve_folder, location, acting.slug)
    except SourceError as error:
        raise InvalidInput(error.reason, field="location") from None
    async with ctx.tx.savepoint():
        try:
            record = await report_sources.insert_source(
                ctx.tx, acting.id, folder.location, folder.source, report_format.value, late_data.value
            )
        except PolicyViolation as error:
            raise Forbidden("only the operator's billing admins register report sources") from error
    if record is None:
        record = await report_sources.source_by_location(ctx.tx, acting.id, folder.location)
        assert record is not None
        if record.format is not report_format:
            raise InvalidInput(f"{folder.location} is registered already, as {record.format}", field="format")
        if record.late_data is not late_data:
            raise InvalidInput(
                f"{folder.location} is registered already, with lateData {record.late_data.upper()}", field="lateData"
            )
    return record


async def cost_sources(ctx: RequestContext) -> list[ReportSourceView]:
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    records = await report_sources.sources(ctx.tx, acting.id)
    last = await report_sources.last_assemblies(ctx.tx, acting.id, [r.location for r in records])
    return [ReportSourceView(r, last.get(r.location)) for r in records]


def _peek(sources: CostSources, location: str, operator: str) -> tuple[str, Manifest]:
    at = sources.resolve(location, operator)
    return at.source, parse_manifest(read_manifest(at), at.location)


async def sync_report_source(ctx: RequestContext, source_id: UUID) -> SyncOutcome:
    """List the source's manifests and queue the deliveries no assembly records yet."""
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    record = await report_sources.source_by_id(ctx.tx, source_id)
    if record is None:
        raise NotFound(f"no report source {source_id} is visible to you")
    report_format = record.format
    try:
        folder = await asyncio.to_thread(ctx.cost_sources.resolve_folder, record.location, acting.slug)
        listed: list[ListedManifest] = await asyncio.to_thread(list_manifests, folder, report_format)
    except SourceError as error:
        await report_sources.record_sync(ctx.tx, record.id, last_error=error.reason[:_MAX_ERROR])
        return SyncOutcome(record, [], 0, [error.reason])
    queued, known, problems = [], 0, []
    for manifest in listed:
        try:
            source, parsed = await asyncio.to_thread(_peek, ctx.cost_sources, manifest.location, acting.slug)
        except SourceError as error:
            problems.append(f"{manifest.location}: {error.reason}")
            continue
        except (CostError, OSError) as error:
            problems.append(str(error) if isinstance(error, CostError) else f"{manifest.location}: not readable")
            continue
        if parsed.kind is not report_format.manifest_kind:
            problems.append(f"{manifest.location}: a {parsed.kind.value} manifest in a {record.format} source")
            continue
        if await report_sources.known_delivery(
            ctx.tx, acting.id, source, parsed.report, parsed.period, parsed.assembly_key
        ):
            known += 1
            continue
        try:
            queued.append(await queue_assembly(ctx, manifest.location, record.late_data))
        except ApiError as error:
            problems.append(error.message)
    newest = max((m.modified for m in listed if m.modified is not None), default=None)
    fields: dict[str, object] = {"last_error": "; ".join(problems)[:_MAX_ERROR] or None}
    if newest is not None:
        fields["last_manifest_at"] = newest
    await report_sources.record_sync(ctx.tx, record.id, **fields)
    updated = await report_sources.source_by_id(ctx.tx, record.id)
    assert updated is not None
    return SyncOutcome(updated, queued, known, problems)


async def sync_all(ctx: RequestContext) -> list[SyncOutcome]:
    """Every source of the acting operator (`roundpool cost sync`)."""
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    return [await sync_report_source(ctx, r.id) for r in await report_sources.sources(ctx.tx, acting.id)]


# -- the scheduled sync ------------------------------------------------------------------------------------


async def queue_due_syncs(job_app: procrastinate.App, database: Database) -> int:
    """One sync job per registered source (ids only; at most one waiting per source); returns how many."""
    async with database.engine.connect() as conn:
        due = await report_sources.due_for_sync(conn)
    task = job_app.tasks[SYNC_TASK]
    count = 0
    for source in due:
        try:
            await task.configure(queueing_lock=f"{SYNC_TASK}:{source.id}").defer_async(
                source_id=str(source.id), tenant_id=str(source.tenant_id), user_id=str(source.created_by)
            )
        except AlreadyEnqueued:
            continue
        count += 1
    return count


async def run_report_source_sync(
    database: Database,
    store: CostStore,
    source_id: UUID,
    requester: Member,
    *,
    sources: CostSources,
    max_page_size: int,
) -> SyncOutcome | None:
    """The sync of one source as its registrant (the job's user and operator), or None when they may not."""
    runtime = RequestRuntime(database, max_page_size, cost_store=store, cost_sources=sources)
    try:
        async with open_request(runtime, requester, request_id=uuid.uuid4().hex) as ctx:
            try:
                outcome = await sync_report_source(ctx, source_id)
            except ApiError as error:  # the block still ends cleanly: what ran before the error commits
                _logger.warning("report source %s was not synced: %s", source_id, error.message)
                return None
    except (AuthenticationFailed, TenantNotAllowed):
        _logger.warning("report source %s: its registrant no longer belongs to its operator", source_id)
        return None
    if outcome.problems:
        _logger.info("report source %s: %s", source_id, json.dumps(outcome.problems))
    return outcome
