"""Cap-table, portfolio and fund types. Quantities and money are `Decimal` (serialised as strings)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from decimal import Decimal
from uuid import UUID

import strawberry
from strawberry.types import Info

from captable import Problem
from captable.events import SecurityKind
from captable.funds import Defined, Metric
from captable.replay import ConvertibleRule
from captable.vesting import VestingStatus as VestingStatusValue
from cost import Metric as CostMetric  # captable.funds has a Metric of its own
from db.captable_records import FundFlowRecord, FundInvestmentRecord, FundRecord, LedgerRow, LinkRecord
from resolvers.captable import funds
from resolvers.captable.captable import CapTableView
from resolvers.captable.portfolio import PortfolioEntry
from resolvers.captable.scenarios import Payout, portfolio_payouts
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden
from resolvers.costs import costs as cost_queries
from schema.types.costs import CostGroupBy, CostRow
from schema.types.decimals import stated_money
from schema.types.financials import KpiValue
from schema.types.node import Node, global_id
from schema.types.problems import Problem as ProblemInterface
from schema.types.tenancy import Tenant, load_tenant

strawberry.enum(
    ConvertibleRule,
    name="ConvertibleRule",
    description="How unconverted convertibles count in fully diluted figures: EXCLUDE, or AT_CAP (converted at "
    "their valuation cap).",
)
Ctx = Info[RequestContext, None]


strawberry.enum(SecurityKind, name="SecurityKind")


@strawberry.type
class Money:
    amount: Decimal
    currency: str


def money(amount: Decimal | None, currency: str | None) -> Money | None:
    if amount is None or currency is None:
        return None
    return Money(amount=stated_money(amount, currency), currency=currency)


@strawberry.type(description="A ratio or rate, or the reason it is undefined (nothing paid in, no sign change…).")
class MetricValue:
    value: Decimal | None
    undefined_reason: str | None

    @classmethod
    def of(cls, metric: Metric) -> MetricValue:
        if isinstance(metric, Defined):
            return cls(value=metric.value, undefined_reason=None)
        return cls(value=None, undefined_reason=metric.reason)


@strawberry.type(description="One defect, naming the object and the field.")
class LedgerProblem:
    object_id: str
    object_type: str
    field: str
    reason: str

    @classmethod
    def of(cls, problem: Problem) -> LedgerProblem:
        return cls(
            object_id=problem.object_id, object_type=problem.object_type, field=problem.field, reason=problem.reason
        )


@strawberry.type(description="The items would make the ledger invalid; nothing was written.")
class LedgerRejected(ProblemInterface):
    problems: list[LedgerProblem]


@strawberry.type(description="The package, an item in it, or the resulting ledger is invalid; nothing was written.")
class OcfRejected(ProblemInterface):
    problems: list[LedgerProblem]


@strawberry.type(description="Items appended to the ledger; the snapshot was recomputed in the same transaction.")
class LedgerWritten:
    object_count: int
    ids: list[str]


@strawberry.type
class OcfImported:
    object_count: int
    warnings: list[LedgerProblem]


@strawberry.type
class OcfPackage:
    file_name: str
    content_base64: str = strawberry.field(description="The `.ocf.zip`, base64-encoded.")
    size_bytes: int


@strawberry.type
class LedgerItem:
    id: str
    object_type: str
    seq: int
    payload: strawberry.scalars.JSON

    @classmethod
    def from_record(cls, row: LedgerRow) -> LedgerItem:
        return cls(id=row.id, object_type=row.object_type, seq=row.seq, payload=strawberry.scalars.JSON(row.payload))


@strawberry.type
class CapTablePosition:
    security_id: str
    stakeholder_id: str
    stakeholder_name: str | None
    kind: SecurityKind
    quantity: Decimal = strawberry.field(description="Shares; the invested amount for convertibles.")
    stock_class_id: str | None
    stock_plan_id: str | None
    issued_on: date
    fully_diluted: Decimal = strawberry.field(description="As-converted shares counted in the fully diluted total.")


@strawberry.type
class HolderOwnership:
    stakeholder_id: str
    name: str | None
    ownership: Decimal = strawberry.field(description="Share of the outstanding stock, as converted.")
    fully_diluted_shares: Decimal
    fully_diluted_ownership: Decimal


@strawberry.type
class ClassOwnership:
    stock_class_id: str
    name: str | None
    outstanding_shares: Decimal
    ownership: Decimal


@strawberry.type
class OptionPool:
    stock_plan_id: str
    name: str | None
    reserved: Decimal
    granted: Decimal
    issued: Decimal = strawberry.field(description="Shares that left the pool for good (exercises, releases).")
    available: Decimal


@strawberry.type
class CapTable:
    company_id: strawberry.ID
    as_of: date
    convertible_rule: ConvertibleRule
    outstanding_shares: Decimal
    fully_diluted_shares: Decimal
    positions: list[CapTablePosition]
    holders: list[HolderOwnership]
    classes: list[ClassOwnership]
    option_pools: list[OptionPool]

    @classmethod
    def of(cls, view: CapTableView) -> CapTable:
        ledger, state = view.ledger, view.state
        names = {s.id: s.name for s in ledger.stakeholders}
        classes = {c.id: c.name for c in ledger.stock_classes}
        plans = {p.id: p.name for p in ledger.stock_plans}
        holders = sorted(set(state.fully_diluted_by_holder) | set(state.ownership_by_holder))
        return cls(
            company_id=global_id("Tenant", view.company_id),
            as_of=state.as_of,
            convertible_rule=state.convertible_rule,
            outstanding_shares=state.outstanding_shares,
            fully_diluted_shares=state.fully_diluted_shares,
            positions=[
                CapTablePosition(
                    security_id=p.security_id,
                    stakeholder_id=p.stakeholder_id,
                    stakeholder_name=names.get(p.stakeholder_id),
                    kind=p.kind,
                    quantity=p.quantity,
                    stock_class_id=p.stock_class_id,
                    stock_plan_id=p.stock_plan_id,
                    issued_on=p.issued_on,
                    fully_diluted=p.fully_diluted,
                )
                for p in sorted(state.positions, key=lambda p: (p.stakeholder_id, p.security_id))
            ],
            holders=[
                HolderOwnership(
                    stakeholder_id=h,
                    name=names.get(h),
                    ownership=state.ownership_by_holder.get(h, Decimal(0)),
                    fully_diluted_shares=state.fully_diluted_by_holder.get(h, Decimal(0)),
                    fully_diluted_ownership=state.fully_diluted_ownership_by_holder.get(h, Decimal(0)),
                )
                for h in holders
            ],
            classes=[
                ClassOwnership(
                    stock_class_id=c,
                    name=classes.get(c),
                    outstanding_shares=state.outstanding_by_class.get(c, Decimal(0)),
                    ownership=state.ownership_by_class.get(c, Decimal(0)),
                )
                for c in sorted(state.outstanding_by_class)
            ],
            option_pools=[
                OptionPool(
                    stock_plan_id=p.stock_plan_id,
                    name=plans.get(p.stock_plan_id),
                    reserved=p.reserved,
                    granted=p.granted,
                    issued=p.issued,
                    available=p.available,
                )
                for p in state.pools.values()
            ],
        )


@strawberry.type
class VestingStatus:
    security_id: str
    as_of: date
    quantity: Decimal
    vested: Decimal
    unvested: Decimal

    @classmethod
    def of(cls, status: VestingStatusValue, as_of: date) -> VestingStatus:
        return cls(
            security_id=status.security_id,
            as_of=as_of,
            quantity=status.quantity,
            vested=status.vested,
            unvested=status.unvested,
        )


@strawberry.type
class StakeholderLink:
    stakeholder_id: str
    vc_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: LinkRecord) -> StakeholderLink:
        return cls(stakeholder_id=record.stakeholder_id, vc_id=record.vc_tenant_id)

    @strawberry.field
    async def investor(self, info: Ctx) -> Tenant | None:
        return await load_tenant(info, self.vc_id)


@strawberry.type
class Unlinked:
    stakeholder_id: str


@strawberry.type(description="Your payout at one exit value.")
class ExitPayout:
    exit_value: Decimal
    amount: Decimal
    currency: str | None

    @classmethod
    def of(cls, payout: Payout) -> ExitPayout:
        return cls(exit_value=payout.exit_value, amount=payout.amount, currency=payout.currency)


def _company_global_id(root: PortfolioCompany) -> strawberry.ID:
    """Encoded when asked for, not for every company of every portfolio."""
    return global_id("Tenant", root.company_key)


@strawberry.type(description="A company that granted you `captable`, and your holding in it.")
class PortfolioCompany:
    company_id: strawberry.ID = strawberry.field(resolver=_company_global_id)
    as_of: date | None = strawberry.field(description="The date the figures hold for; null without a cap table.")
    stakeholder_ids: list[str] = strawberry.field(description="The company's stakeholders linked to you.")
    ownership: Decimal
    fully_diluted_ownership: Decimal
    invested: Money | None
    latest_price_per_share: Money | None
    latest_price_date: date | None
    holding_value: Money | None
    moic: MetricValue

    company: Tenant | None = strawberry.field(description="The company (loaded for all entries in one batch).")
    company_key: strawberry.Private[UUID]
    latest_kpis: list[KpiValue] = strawberry.field(
        description="The values of the company's latest finalized KPI report; empty without one or without the "
        "`financials` scope (loaded for all entries in one statement, only when asked for)."
    )

    @strawberry.field(
        description="The company's cloud cost for a period (`YYYY-MM`), as `costs(company:)` gives it; null when "
        "the company has not granted you `costs`."
    )
    async def costs(
        self, info: Info[RequestContext, None], period: str, group_by: list[CostGroupBy], metrics: list[CostMetric]
    ) -> list[CostRow] | None:
        if self.company is None:
            return None
        query = cost_queries.CostQuery(
            group_by=[g.dimension() for g in group_by],
            metrics=list(metrics),
            period=period,
            company=self.company.slug,
        )
        try:
            rows = await cost_queries.cost_rows(info.context, query)
        except Forbidden:
            return None
        return [CostRow.from_row(row) for row in rows]

    @strawberry.field(
        description="What your linked stakeholders together receive at each exit value (at most 20), by the "
        "`exitWaterfall` of the company with default assumptions as of `asOf`; empty without a visible cap "
        "table. Every company's ledger loads in one statement."
    )
    async def payouts(self, info: Info[RequestContext, None], exit_values: list[Decimal]) -> list[ExitPayout]:
        rows = await portfolio_payouts(info.context, self.company_key, self.stakeholder_ids, self.as_of, exit_values)
        return [ExitPayout.of(p) for p in rows]

    @classmethod
    def of(
        cls, entry: PortfolioEntry, company: Tenant | None, latest_kpis: list[KpiValue] | None = None
    ) -> PortfolioCompany:
        return cls(
            company_key=entry.company_id,
            as_of=entry.as_of,
            stakeholder_ids=list(entry.stakeholder_ids),
            ownership=entry.ownership,
            fully_diluted_ownership=entry.fully_diluted_ownership,
            invested=money(entry.invested, entry.currency),
            latest_price_per_share=money(entry.price_per_share, entry.currency),
            latest_price_date=entry.price_date,
            holding_value=money(entry.holding_value, entry.currency),
            moic=MetricValue.of(entry.moic),
            company=company,
            latest_kpis=latest_kpis or [],
        )


@strawberry.type
class FundFlow(Node):
    fund_id: strawberry.ID
    date: date
    amount: Decimal
    limited_partner: str | None

    @classmethod
    def from_record(cls, record: FundFlowRecord) -> FundFlow:
        return cls(
            db_id=record.id,
            fund_id=global_id("Fund", record.fund_id),
            date=record.on,
            amount=record.amount,
            limited_partner=record.limited_partner,
        )


@strawberry.type
class FundInvestment(Node):
    fund_id: strawberry.ID
    company_id: strawberry.ID
    stakeholder_id: str
    allocation: Decimal

    @classmethod
    def from_record(cls, record: FundInvestmentRecord) -> FundInvestment:
        return cls(
            db_id=record.id,
            fund_id=global_id("Fund", record.fund_id),
            company_id=global_id("Tenant", record.company_tenant_id),
            stakeholder_id=record.stakeholder_id,
            allocation=record.allocation,
        )


@strawberry.type
class FundPerformance:
    as_of: date
    paid_in: Decimal
    distributed: Decimal
    nav: Decimal
    tvpi: MetricValue
    dpi: MetricValue
    rvpi: MetricValue
    irr: MetricValue


@strawberry.type
class Fund(Node):
    name: str
    currency: str
    vintage_year: int | None
    # sibling metric fields resolve concurrently: the first starts the computation, the others await it
    computed: strawberry.Private[dict[str, asyncio.Future[funds.FundPerformance]]] = dataclasses.field(
        default_factory=dict
    )

    async def _performance(self, info: Ctx) -> funds.FundPerformance:
        if "performance" not in self.computed:
            self.computed["performance"] = asyncio.ensure_future(funds.performance(info.context, self.db_id))
        return await self.computed["performance"]

    @classmethod
    def from_record(cls, record: FundRecord) -> Fund:
        return cls(
            db_id=record.id,
            name=record.name,
            currency=record.currency,
            vintage_year=record.vintage_year,
        )

    @strawberry.field
    async def commitments(self, info: Ctx) -> list[FundFlow]:
        return [FundFlow.from_record(r) for r in await funds.flows(info.context, "commitment", self.db_id)]

    @strawberry.field
    async def capital_calls(self, info: Ctx) -> list[FundFlow]:
        return [FundFlow.from_record(r) for r in await funds.flows(info.context, "capital_call", self.db_id)]

    @strawberry.field
    async def distributions(self, info: Ctx) -> list[FundFlow]:
        return [FundFlow.from_record(r) for r in await funds.flows(info.context, "distribution", self.db_id)]

    @strawberry.field
    async def investments(self, info: Ctx) -> list[FundInvestment]:
        return [FundInvestment.from_record(r) for r in await funds.investments(info.context, self.db_id)]

    @strawberry.field(description="Paid-in, distributions, NAV (from current holding values) and the ratios.")
    async def performance(self, info: Ctx) -> FundPerformance:
        result = await self._performance(info)
        m = result.metrics
        return FundPerformance(
            as_of=result.as_of,
            paid_in=m.paid_in,
            distributed=m.distributed,
            nav=m.nav,
            tvpi=MetricValue.of(m.tvpi),
            dpi=MetricValue.of(m.dpi),
            rvpi=MetricValue.of(m.rvpi),
            irr=MetricValue.of(m.irr),
        )

    @strawberry.field
    async def tvpi(self, info: Ctx) -> MetricValue:
        return MetricValue.of((await self._performance(info)).metrics.tvpi)

    @strawberry.field
    async def dpi(self, info: Ctx) -> MetricValue:
        return MetricValue.of((await self._performance(info)).metrics.dpi)

    @strawberry.field
    async def rvpi(self, info: Ctx) -> MetricValue:
        return MetricValue.of((await self._performance(info)).metrics.rvpi)

    @strawberry.field
    async def irr(self, info: Ctx) -> MetricValue:
        return MetricValue.of((await self._performance(info)).metrics.irr)


@strawberry.type
class Deleted:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted object's global id.")
