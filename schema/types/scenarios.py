"""Types of the what-if calculations: the exit waterfall and the pro-forma round.

Amounts paid are rounded to the currency's minor unit and sum to the exit value exactly; the exact figures
behind them (prices, preferences, ownership) are given to 18 decimal places.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from captable.events import SecurityKind
from captable.proforma import PoolBasis, PoolTopUp, RoundTerms
from captable.waterfall import Assumptions, ClassTerms, ConvertibleTreatment, Decision
from resolvers.captable.scenarios import ProFormaView, WaterfallView
from schema.types.node import global_id

EXACT = Decimal(1).scaleb(-18)

strawberry.enum(
    ConvertibleTreatment,
    name="ConvertibleTreatment",
    description="What unconverted convertibles do at an exit: GREATER_OF their cash-out amount and their "
    "conversion at the valuation cap (the YC safe's terms), always CONVERT, or always CASH_OUT.",
)
strawberry.enum(
    Decision,
    name="WaterfallDecision",
    description="COMMON (no preference), PREFERENCE (took it, non-participating), PARTICIPATES (preference and "
    "a share of the rest), CONVERTS (to common), CASH_OUT (a convertible's cash-out amount), EXERCISES or LAPSES "
    "(options and warrants, in or out of the money).",
)
strawberry.enum(PoolBasis, name="PoolBasis")


def exact(value: Decimal) -> Decimal:
    """`value` to 18 places, without trailing zeros or an exponent ("1.01", "1000000")."""
    trimmed = value.quantize(EXACT).normalize()
    exponent = trimmed.as_tuple().exponent
    return trimmed.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else trimmed


@strawberry.input(description="How one stock class participates (OCF stores only a cap multiple).")
class ClassParticipationInput:
    stock_class_id: str
    participating: bool
    cap_multiple: Decimal | None = strawberry.field(
        default=None, description="Total return cap, preference included, as a multiple of the issue price."
    )


@strawberry.input
class WaterfallAssumptionsInput:
    convertibles: ConvertibleTreatment = ConvertibleTreatment.GREATER_OF
    cash_out_multiple: Decimal = strawberry.field(
        default=Decimal(1), description="A convertible's cash-out amount as a multiple of its purchase amount."
    )
    unvested_awards: bool = strawberry.field(
        default=True, description="Unvested options count (accelerated or assumed); false: only vested ones."
    )
    participation: list[ClassParticipationInput] = strawberry.field(default_factory=list)

    def value(self) -> Assumptions:
        return Assumptions(
            convertibles=ConvertibleTreatment(self.convertibles),
            cash_out_multiple=self.cash_out_multiple,
            unvested_awards=self.unvested_awards,
            participation={p.stock_class_id: ClassTerms(p.participating, p.cap_multiple) for p in self.participation},
        )


@strawberry.input(description="Give `target` (a fraction of the `basis` count) or `shares`.")
class PoolTopUpInput:
    target: Decimal | None = None
    basis: PoolBasis = PoolBasis.POST_MONEY
    shares: Decimal | None = None

    def value(self) -> PoolTopUp:
        return PoolTopUp(target=self.target, basis=PoolBasis(self.basis), shares=self.shares)


def round_terms(
    new_money: Decimal, pre_money: Decimal | None, price_per_share: Decimal | None, pool: PoolTopUpInput | None
) -> RoundTerms:
    return RoundTerms(
        new_money=new_money,
        pre_money=pre_money,
        price_per_share=price_per_share,
        pool_top_up=pool.value() if pool is not None else None,
    )


@strawberry.type(description="One class (stock) or security (convertible, option, warrant) in the waterfall.")
class WaterfallClass:
    source_id: str
    name: str | None
    kind: SecurityKind
    decision: Decision
    capped: bool = strawberry.field(description="Participation stopped at the cap.")
    shares: Decimal = strawberry.field(description="As-converted shares (conversion shares for convertibles).")
    claim: Decimal = strawberry.field(description="Preference or cash-out amount claimed.")
    strike: Decimal | None
    amount: Decimal = strawberry.field(description="What it receives, rounded.")
    exact_amount: Decimal
    alternative_amount: Decimal | None = strawberry.field(
        description="What the other choice (convert, or keep the preference) would pay, the others unchanged."
    )


@strawberry.type
class WaterfallHolder:
    stakeholder_id: str
    name: str | None
    amount: Decimal


@strawberry.type(description="One holder's payout from one class or security.")
class WaterfallLine:
    stakeholder_id: str
    source_id: str
    kind: SecurityKind
    shares: Decimal
    preference: Decimal
    participation: Decimal
    amount: Decimal


@strawberry.type
class ExitWaterfall:
    company_id: strawberry.ID
    as_of: date
    exit_value: Decimal
    currency: str | None
    common_price_per_share: Decimal = strawberry.field(description="What one common share receives.")
    stable: bool = strawberry.field(description="No class or convertible would rather switch its decision.")
    unallocated: Decimal = strawberry.field(description="Non-zero only when nobody can take the residual.")
    classes: list[WaterfallClass]
    holders: list[WaterfallHolder]
    lines: list[WaterfallLine]

    @classmethod
    def of(cls, view: WaterfallView) -> ExitWaterfall:
        w = view.waterfall
        names = {s.id: s.name for s in view.ledger.stakeholders}
        class_names = {c.id: c.name for c in view.ledger.stock_classes}
        return cls(
            company_id=global_id("Tenant", view.company_id),
            as_of=w.as_of,
            exit_value=w.exit_value,
            currency=view.currency,
            common_price_per_share=exact(w.common_price),
            stable=w.stable,
            unallocated=w.unallocated,
            classes=[
                WaterfallClass(
                    source_id=c.source_id,
                    name=class_names.get(c.source_id),
                    kind=c.kind,
                    decision=c.decision,
                    capped=c.capped,
                    shares=c.shares,
                    claim=exact(c.claim),
                    strike=c.strike,
                    amount=c.amount,
                    exact_amount=exact(c.received),
                    alternative_amount=None if c.alternative is None else exact(c.alternative),
                )
                for c in w.classes
            ],
            holders=[
                WaterfallHolder(stakeholder_id=h, name=names.get(h), amount=a) for h, a in sorted(w.by_holder().items())
            ],
            lines=[
                WaterfallLine(
                    stakeholder_id=line.stakeholder_id,
                    source_id=line.source_id,
                    kind=line.kind,
                    shares=line.shares,
                    preference=exact(line.preference),
                    participation=exact(line.participation),
                    amount=line.amount,
                )
                for line in w.lines
            ],
        )


@strawberry.type
class RoundConversion:
    security_id: str
    stakeholder_id: str
    convertible_type: str | None
    amount: Decimal = strawberry.field(description="Purchase amount, with interest for notes.")
    price: Decimal
    shares: Decimal
    capped: bool = strawberry.field(description="The valuation cap set the price.")


@strawberry.type(description="One line of the fully diluted table after the round.")
class ProFormaRow:
    stakeholder_id: str | None = strawberry.field(description="Null for the unallocated pool.")
    name: str | None
    source_id: str = strawberry.field(description="Stock class, plan or security; the round's class if new.")
    kind: str = strawberry.field(description="STOCK, EQUITY_COMPENSATION, WARRANT, CONVERSION, NEW_MONEY or POOL.")
    shares: Decimal
    ownership: Decimal = strawberry.field(description="Of the post-money fully diluted shares.")


@strawberry.type(description="A priced round as it would be; nothing is written.")
class ProFormaRound:
    company_id: strawberry.ID
    as_of: date
    currency: str | None
    price_per_share: Decimal
    pre_money: Decimal
    post_money: Decimal
    new_money: Decimal
    investor_shares: Decimal
    new_pool_shares: Decimal
    fully_diluted_before: Decimal
    pre_money_fully_diluted: Decimal
    post_money_fully_diluted: Decimal
    conversions: list[RoundConversion]
    rows: list[ProFormaRow]

    @classmethod
    def of(cls, view: ProFormaView) -> ProFormaRound:
        p = view.pro_forma
        names = {s.id: s.name for s in view.ledger.stakeholders}
        return cls(
            company_id=global_id("Tenant", view.company_id),
            as_of=p.as_of,
            currency=view.currency,
            price_per_share=exact(p.price_per_share),
            pre_money=exact(p.pre_money),
            post_money=exact(p.post_money),
            new_money=p.new_money,
            investor_shares=p.investor_shares,
            new_pool_shares=p.new_pool_shares,
            fully_diluted_before=p.fully_diluted_before,
            pre_money_fully_diluted=p.pre_money_fully_diluted,
            post_money_fully_diluted=p.post_money_fully_diluted,
            conversions=[
                RoundConversion(
                    security_id=c.security_id,
                    stakeholder_id=c.stakeholder_id,
                    convertible_type=c.convertible_type,
                    amount=exact(c.amount),
                    price=exact(c.price),
                    shares=c.shares,
                    capped=c.capped,
                )
                for c in p.conversions
            ],
            rows=[
                ProFormaRow(
                    stakeholder_id=r.stakeholder_id,
                    name=names.get(r.stakeholder_id) if r.stakeholder_id else None,
                    source_id=r.source_id,
                    kind=r.kind,
                    shares=r.shares,
                    ownership=exact(r.ownership),
                )
                for r in p.rows
            ],
        )
