"""KPI requests: a VC's writer asks a startup that granted it `financials` for KPIs of a period; the startup's
writer fulfils it (with a final KPI report of that period holding every requested KPI) or declines it; the VC
may cancel it while it is open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation
from db.financials_records import KpiRequestRecord
from db.pagination import Page
from db.queries import kpi_requests, kpis, tenancy
from policies.principal import WRITER_ROLES, TenantKind
from resolvers.common.amounts import checked_period
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id, quoting_global_id
from resolvers.management.kpis import KPI_KEY, SCOPE

MAX_KEYS = 50


class RequestStatus(StrEnum):
    REQUESTED = "requested"
    FULFILLED = "fulfilled"
    DECLINED = "declined"
    CANCELLED = "cancelled"


def _keys(keys: Sequence[str]) -> list[str]:
    if not keys:
        raise InvalidInput("name at least one KPI", field="kpiKeys")
    for index, key in enumerate(keys):
        if not KPI_KEY.fullmatch(key):
            raise InvalidInput(f"{key!r} is not a KPI key such as 'arr' or 'burn'", field=f"kpiKeys[{index}]")
    unique = list(dict.fromkeys(keys))
    if len(unique) > MAX_KEYS:
        raise InvalidInput(f"ask for at most {MAX_KEYS} KPIs at once", field="kpiKeys")
    return unique


async def request_kpis(
    ctx: RequestContext,
    startup_slug: str,
    period_start: date,
    period_end: date,
    kpi_keys: Sequence[str],
    due_on: date | None,
    message: str,
) -> KpiRequestRecord:
    acting = ctx.require_role(WRITER_ROLES, TenantKind.VC)
    checked_period(period_start, period_end)
    keys = _keys(kpi_keys)
    if due_on is not None and due_on < date.today():
        raise InvalidInput(f"dueOn {due_on} is in the past", field="dueOn")
    if len(message) > 2000:
        raise InvalidInput("a message has at most 2000 characters", field="message")
    async with ctx.tx.savepoint():
        startup = await tenancy.tenant_by_slug(ctx.tx, startup_slug)
        if startup is None or startup.kind is not TenantKind.STARTUP:
            raise NotFound(f"no startup {startup_slug!r} is visible to you")
        if startup.id not in await kpi_requests.granted_tenants(ctx.tx, SCOPE):
            raise Forbidden(f"{startup_slug} has not granted {acting.slug} access to its financials")
        try:
            return await kpi_requests.insert_request(
                ctx.tx,
                {
                    "tenant_id": startup.id,
                    "vc_tenant_id": acting.id,
                    "period_start": period_start,
                    "period_end": period_end,
                    "kpi_keys": keys,
                    "due_on": due_on,
                    "message": message,
                },
            )
        except PolicyViolation as error:
            raise Forbidden(f"you may not ask {startup_slug} for KPIs") from error


async def requests_page(ctx: RequestContext, status: RequestStatus | None, page: PageRequest) -> Page[KpiRequestRecord]:
    acting = ctx.require_tenant()
    return await kpi_requests.requests_page(ctx.tx, acting.id, None if status is None else status.value, page)


async def _open_request(ctx: RequestContext, request_id: UUID, *, as_startup: bool) -> KpiRequestRecord:
    acting = ctx.require_role(WRITER_ROLES, TenantKind.STARTUP if as_startup else TenantKind.VC)
    found = await kpi_requests.request_by_id(ctx.tx, request_id)
    party = None if found is None else found.tenant_id if as_startup else found.vc_tenant_id
    if found is None or party != acting.id:
        raise NotFound(f"no KPI request {encode_global_id('KpiRequest', request_id)} of {acting.slug}")
    if found.status != RequestStatus.REQUESTED.value:
        raise Conflict(f"KPI request {encode_global_id('KpiRequest', request_id)} is {found.status} already")
    return found


async def _update(ctx: RequestContext, request: KpiRequestRecord, fields: dict[str, object]) -> KpiRequestRecord:
    try:
        updated = await kpi_requests.set_status(ctx.tx, request, {**fields, "responded_by": ctx.tx.context.user_id})
    except PolicyViolation as error:
        raise Forbidden("you may not change this KPI request") from error
    except ConstraintViolation as error:
        raise Conflict(quoting_global_id(str(error), "KpiRequest", request.id)) from error
    if updated is None:
        raise Forbidden("you may not change this KPI request")
    return updated


async def respond(ctx: RequestContext, request_id: UUID, fulfilled: bool, response: str) -> KpiRequestRecord:
    """The startup fulfils the request with its final KPI report of the period, or declines it."""
    if len(response) > 2000:
        raise InvalidInput("a response has at most 2000 characters", field="message")
    async with ctx.tx.savepoint():
        request = await _open_request(ctx, request_id, as_startup=True)
        if not fulfilled:
            return await _update(ctx, request, {"status": RequestStatus.DECLINED.value, "response": response})
        report = await kpis.final_report_for(ctx.tx, request.tenant_id, request.period_start, request.period_end)
        if report is None:
            raise InvalidInput(
                f"finalize a KPI report for {request.period_start} to {request.period_end} first", field="fulfilled"
            )
        present = {
            v.key
            for v in (await kpis.values_of(ctx.tx, [(report.tenant_id, report.id)]))[(report.tenant_id, report.id)]
        }
        missing = [key for key in request.kpi_keys if key not in present]
        if missing:
            raise InvalidInput(
                f"the final KPI report for {request.period_start} to {request.period_end} lacks"
                f" {', '.join(missing)}; the request cannot be fulfilled with it",
                field="fulfilled",
            )
        return await _update(
            ctx,
            request,
            {"status": RequestStatus.FULFILLED.value, "response": response, "kpi_report_id": report.id},
        )


async def cancel(ctx: RequestContext, request_id: UUID) -> KpiRequestRecord:
    async with ctx.tx.savepoint():
        request = await _open_request(ctx, request_id, as_startup=False)
        return await _update(ctx, request, {"status": RequestStatus.CANCELLED.value})
