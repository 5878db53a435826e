"""What-if queries on a cap table: the exit waterfall and a pro-forma round. Nothing is written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.types import Info

from resolvers.captable import scenarios
from resolvers.common.context import RequestContext
from schema.roots.captable_query import company_id
from schema.types.scenarios import (
    ExitWaterfall,
    PoolTopUpInput,
    ProFormaRound,
    WaterfallAssumptionsInput,
    round_terms,
)

Ctx = Info[RequestContext, None]


@strawberry.type
class ScenariosQuery:
    @strawberry.field(
        description="What each holder and class receives if the company is sold for `exitValue` (in the "
        "company's currency, whole minor units) on `asOf` (default today): preferences by seniority, "
        "conversions, convertibles, options net of their strike, common last. `company` (a VC reading a "
        "startup that granted it CAPTABLE) defaults to the acting startup."
    )
    async def exit_waterfall(
        self,
        info: Ctx,
        exit_value: Decimal,
        as_of: date | None = None,
        assumptions: WaterfallAssumptionsInput | None = None,
        company: strawberry.ID | None = None,
    ) -> ExitWaterfall | None:
        terms = (assumptions or WaterfallAssumptionsInput()).value()
        view = await scenarios.waterfall(info.context, company_id(company), exit_value, as_of, terms)
        return ExitWaterfall.of(view)

    @strawberry.field(
        description="A new priced round of `newMoney` at `preMoney` or `pricePerShare` (one of them) as of "
        "`asOf` (default today): the price, the SAFE/note/J-KISS conversions, the pool top-up and the fully "
        "diluted table after it. Nothing is written."
    )
    async def pro_forma_round(
        self,
        info: Ctx,
        new_money: Decimal,
        pre_money: Decimal | None = None,
        price_per_share: Decimal | None = None,
        pool_top_up: PoolTopUpInput | None = None,
        as_of: date | None = None,
        company: strawberry.ID | None = None,
    ) -> ProFormaRound | None:
        terms = round_terms(new_money, pre_money, price_per_share, pool_top_up)
        view = await scenarios.pro_forma(info.context, company_id(company), as_of, terms)
        return ProFormaRound.of(view)
