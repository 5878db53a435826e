"""A VC's funds: records kept by its writers, metrics (TVPI, DPI, RVPI, IRR) from `captable.funds`.

A fund's NAV is its share (`allocation`) of the holdings it invested in, valued from the startups' snapshots,
which the VC sees only while the startup grants it `captable` (each such read is audited).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from captable.funds import CashFlow, FundMetrics, fund_metrics
from db.captable_records import FundFlowRecord, FundInvestmentRecord, FundRecord
from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import captable, funds
from policies.principal import WRITER_ROLES, ActingTenant, TenantKind
from resolvers.captable.captable import SCOPE, today
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id

T = TypeVar("T")

_CURRENCY = re.compile(r"^[A-Z]{3}$")
FLOW_KINDS = tuple(funds.FLOWS)


def _writer(ctx: RequestContext) -> ActingTenant:
    return ctx.require_role(WRITER_ROLES, TenantKind.VC)


def _reader(ctx: RequestContext) -> ActingTenant:
    return ctx.require_tenant(TenantKind.VC)


def _positive(amount: Decimal, field: str) -> Decimal:
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("amount must be positive", field=field)
    return amount


async def _guarded(make: Awaitable[T]) -> T:
    try:
        return await make
    except UniqueViolation as error:
        raise Conflict(str(error)) from error
    except PolicyViolation as error:
        raise Forbidden("you may not change this fund") from error
    except ConstraintViolation as error:
        raise InvalidInput(str(error)) from error


async def create_fund(ctx: RequestContext, name: str, currency: str, vintage_year: int | None) -> FundRecord:
    acting = _writer(ctx)
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    if not _CURRENCY.match(currency):
        raise InvalidInput(f"{currency!r} is not an ISO 4217 code", field="currency")
    async with ctx.tx.savepoint():
        return await _guarded(funds.create_fund(ctx.tx, acting.id, name.strip(), currency, vintage_year))


async def update_fund(ctx: RequestContext, fund_id: UUID, fields: dict[str, Any]) -> FundRecord:
    acting = _writer(ctx)
    if "name" in fields and not (fields["name"] or "").strip():
        raise InvalidInput("name must not be empty", field="name")
    if "currency" in fields and not _CURRENCY.match(fields["currency"] or ""):
        raise InvalidInput("currency must be an ISO 4217 code", field="currency")
    async with ctx.tx.savepoint():
        updated = await _guarded(funds.update_fund(ctx.tx, acting.id, fund_id, fields))
    if updated is None:
        raise NotFound(f"no fund {encode_global_id('Fund', fund_id)}")
    return updated


async def delete_fund(ctx: RequestContext, fund_id: UUID) -> UUID:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        if not await _guarded(funds.delete_fund(ctx.tx, acting.id, fund_id)):
            raise NotFound(f"no fund {encode_global_id('Fund', fund_id)}")
    return fund_id


async def fund(ctx: RequestContext, fund_id: UUID) -> FundRecord:
    acting = _reader(ctx)
    found = await funds.fund_by_id(ctx.tx, acting.id, fund_id)
    if found is None:
        raise NotFound(f"no fund {encode_global_id('Fund', fund_id)}")
    return found


async def funds_page(ctx: RequestContext, page: PageRequest) -> Page[FundRecord]:
    acting = _reader(ctx)
    return await funds.funds_page(ctx.tx, acting.id, page)


async def add_flow(
    ctx: RequestContext, kind: str, fund_id: UUID, on: date, amount: Decimal, limited_partner: str | None = None
) -> FundFlowRecord:
    acting = _writer(ctx)
    _positive(amount, "amount")
    values: dict[str, Any] = {funds.FLOWS[kind][1]: on, "amount": amount}
    if kind == "commitment":
        if not (limited_partner or "").strip():
            raise InvalidInput("name the limited partner", field="limitedPartner")
        values["limited_partner"] = limited_partner
    async with ctx.tx.savepoint():
        if await funds.fund_by_id(ctx.tx, acting.id, fund_id) is None:
            raise NotFound(f"no fund {encode_global_id('Fund', fund_id)}")
        return await _guarded(funds.add_flow(ctx.tx, kind, acting.id, fund_id, values))


async def delete_flow(ctx: RequestContext, kind: str, flow_id: UUID) -> UUID:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        if not await _guarded(funds.delete_flow(ctx.tx, kind, acting.id, flow_id)):
            raise NotFound(f"no {kind.replace('_', ' ')} {encode_global_id('FundFlow', flow_id)}")
    return flow_id


async def flows(ctx: RequestContext, kind: str, fund_id: UUID) -> list[FundFlowRecord]:
    acting = _reader(ctx)
    return await funds.flows_of(ctx.tx, kind, acting.id, fund_id)


async def add_investment(
    ctx: RequestContext, fund_id: UUID, company_id: UUID, stakeholder_id: str, allocation: Decimal
) -> FundInvestmentRecord:
    """Tie the fund to a holding: a stakeholder that the company linked to this VC (seen through a grant)."""
    acting = _writer(ctx)
    if not allocation.is_finite() or not 0 < allocation <= 1:
        raise InvalidInput("allocation is a fraction in (0, 1]", field="allocation")
    async with ctx.tx.savepoint():
        if await funds.fund_by_id(ctx.tx, acting.id, fund_id) is None:
            raise NotFound(f"no fund {encode_global_id('Fund', fund_id)}")
        links = await captable.links_of(ctx.tx, [company_id])
        if not any(k.stakeholder_id == stakeholder_id and k.vc_tenant_id == acting.id for k in links):
            company = encode_global_id("Tenant", company_id)
            raise NotFound(f"company {company} has not linked stakeholder {stakeholder_id!r} to {acting.slug}")
        await audit_granted_reads(ctx, [company_id], SCOPE, "stakeholder_links")
        return await _guarded(funds.add_investment(ctx.tx, acting.id, fund_id, company_id, stakeholder_id, allocation))


async def delete_investment(ctx: RequestContext, investment_id: UUID) -> UUID:
    acting = _writer(ctx)
    async with ctx.tx.savepoint():
        if not await _guarded(funds.delete_investment(ctx.tx, acting.id, investment_id)):
            raise NotFound(f"no fund investment {encode_global_id('FundInvestment', investment_id)}")
    return investment_id


async def investments(ctx: RequestContext, fund_id: UUID) -> list[FundInvestmentRecord]:
    acting = _reader(ctx)
    return await funds.investments_of(ctx.tx, acting.id, fund_id)


@dataclass(frozen=True)
class FundPerformance:
    metrics: FundMetrics
    as_of: date


async def performance(ctx: RequestContext, fund_id: UUID) -> FundPerformance:
    """Paid-in and distributions from the fund's records; NAV from the current holding values."""
    acting = _reader(ctx)
    calls = await funds.flows_of(ctx.tx, "capital_call", acting.id, fund_id)
    paid_out = await funds.flows_of(ctx.tx, "distribution", acting.id, fund_id)
    held = await funds.investments_of(ctx.tx, acting.id, fund_id)
    companies = sorted({i.company_tenant_id for i in held})
    values = dict(await captable.holdings_of(ctx.tx, acting.id, companies)) if companies else {}
    await audit_granted_reads(ctx, list(values), SCOPE, "fund_nav")
    nav = Decimal(0)
    for investment in held:
        by_stakeholder = values.get(investment.company_tenant_id) or {}
        nav += Decimal(by_stakeholder.get(investment.stakeholder_id, "0")) * investment.allocation
    as_of = today()
    metrics = fund_metrics(
        [CashFlow(c.on, c.amount) for c in calls], [CashFlow(d.on, d.amount) for d in paid_out], nav, as_of
    )
    return FundPerformance(metrics, as_of)
