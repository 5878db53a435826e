"""What-if calculations on a cap table, computed and never written: the exit waterfall, a pro-forma round, and
a VC's payout per portfolio company at given exit values.

The ledger is read as `capTable` reads it: the acting startup's, or a company that granted the acting VC the
`captable` scope (the read audited before any figure leaves); absent and not granted look alike. Portfolio
payouts load every company's ledger in one statement (a DataLoader) and audit them in one side transaction,
then compute each company's waterfalls in the request's turn. Every field here computes in the request's turn
and charges the rows it answers with to the request's row budget (aliases count together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from captable.errors import ScenarioError
from captable.ledger import Ledger
from captable.proforma import ProForma, RoundTerms, pro_forma_round
from captable.values import out_of_bounds
from captable.waterfall import Assumptions, Waterfall, exit_waterfall
from cost.billing.errors import BillingError
from cost.billing.money import minor_units
from resolvers.captable.captable import SCOPE, company_ledger, today
from resolvers.captable.ledgers import company_currency, ledger_from_rows
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput

MAX_EXIT_VALUES = 20
DEFAULT_MINOR_DIGITS = 2

# engine argument → the GraphQL argument clients see
_ARGUMENTS = {
    "exit_value": "exitValue",
    "cash_out_multiple": "assumptions.cashOutMultiple",
    "new_money": "newMoney",
    "pre_money": "preMoney",
    "price_per_share": "pricePerShare",
    "pool_top_up": "poolTopUp",
    "pool_top_up.target": "poolTopUp.target",
    "pool_top_up.shares": "poolTopUp.shares",
}


@dataclass(frozen=True)
class WaterfallView:
    company_id: UUID
    currency: str | None
    ledger: Ledger
    waterfall: Waterfall

    def __len__(self) -> int:  # the rows it answers with, charged to the request's row budget
        return len(self.waterfall.lines) + len(self.waterfall.classes)


@dataclass(frozen=True)
class ProFormaView:
    company_id: UUID
    currency: str | None
    ledger: Ledger
    pro_forma: ProForma

    def __len__(self) -> int:
        return len(self.pro_forma.rows) + len(self.pro_forma.conversions)


def checked_amount(value: Decimal, field: str, *, positive: bool = False) -> Decimal:
    reason = out_of_bounds(value)
    if reason is None and value < 0:
        reason = "must not be negative"
    if reason is None and positive and value == 0:
        reason = "must be greater than 0"
    if reason is not None:
        raise InvalidInput(f"{field} {value} {reason}", field=field)
    return value


def _minor_digits(currency: str | None) -> int:
    if currency is None:
        return DEFAULT_MINOR_DIGITS
    try:
        return minor_units(currency)
    except BillingError:
        return DEFAULT_MINOR_DIGITS


def _invalid(error: ScenarioError) -> InvalidInput:
    field = _ARGUMENTS.get(error.argument, error.argument)
    return InvalidInput(f"{field}: {error.reason}", field=field)


def _waterfall(ledger: Ledger, exit_value: Decimal, as_of: date, assumptions: Assumptions) -> Waterfall:
    currency = company_currency(ledger, as_of)
    try:
        return exit_waterfall(ledger, exit_value, as_of, assumptions, _minor_digits(currency))
    except ScenarioError as error:
        raise _invalid(error) from error


async def waterfall(
    ctx: RequestContext, company_id: UUID | None, exit_value: Decimal, as_of: date | None, assumptions: Assumptions
) -> WaterfallView:
    checked_amount(exit_value, "exitValue")
    checked_amount(assumptions.cash_out_multiple, "assumptions.cashOutMultiple")
    for class_id, terms in assumptions.participation.items():
        if terms.cap_multiple is not None:
            checked_amount(terms.cap_multiple, f"assumptions.participation[{class_id}].capMultiple")
    target, ledger = await company_ledger(ctx, company_id)
    when = as_of or today()

    async def compute() -> WaterfallView:
        result = _waterfall(ledger, exit_value, when, assumptions)
        return WaterfallView(target, company_currency(ledger, when), ledger, result)

    return await ctx.row_budget.run("exitWaterfall", compute)


async def pro_forma(
    ctx: RequestContext, company_id: UUID | None, as_of: date | None, terms: RoundTerms
) -> ProFormaView:
    checked_amount(terms.new_money, "newMoney", positive=True)
    if terms.pre_money is not None:
        checked_amount(terms.pre_money, "preMoney", positive=True)
    if terms.price_per_share is not None:
        checked_amount(terms.price_per_share, "pricePerShare", positive=True)
    target, ledger = await company_ledger(ctx, company_id)
    when = as_of or today()

    async def compute() -> ProFormaView:
        try:
            result = pro_forma_round(ledger, when, terms)
        except ScenarioError as error:
            raise _invalid(error) from error
        return ProFormaView(target, company_currency(ledger, when), ledger, result)

    return await ctx.row_budget.run("proFormaRound", compute)


def checked_exit_values(values: Sequence[Decimal]) -> list[Decimal]:
    if not values:
        raise InvalidInput("give at least one exit value", field="exitValues")
    if len(values) > MAX_EXIT_VALUES:
        raise InvalidInput(f"at most {MAX_EXIT_VALUES} exit values per request", field="exitValues")
    return [checked_amount(v, "exitValues") for v in values]


@dataclass(frozen=True)
class Payout:
    exit_value: Decimal
    amount: Decimal
    currency: str | None


async def portfolio_payouts(
    ctx: RequestContext,
    company_id: UUID,
    stakeholder_ids: Sequence[str],
    as_of: date | None,
    exit_values: Sequence[Decimal],
) -> list[Payout]:
    """The acting VC's payout (its linked stakeholders together) at each exit value of one portfolio company.

    Every company's ledger comes from one batched load; empty when the company's cap table is not visible.
    """
    values = checked_exit_values(exit_values)
    rows = await ctx.loaders.ledger_rows.load(company_id)
    if not rows:
        return []
    await audit_granted_reads(ctx, [company_id], SCOPE, "payouts")
    ledger = ledger_from_rows(rows)
    when = as_of or today()
    holders = set(stakeholder_ids)

    async def compute() -> list[Payout]:
        currency = company_currency(ledger, when)
        payouts = []
        for value in values:
            paid = _waterfall(ledger, value, when, Assumptions()).by_holder()
            amount = sum((a for h, a in paid.items() if h in holders), Decimal(0))
            payouts.append(Payout(value, amount, currency))
        return payouts

    return await ctx.row_budget.run("payouts", compute)
