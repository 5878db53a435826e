"""Mutations of the cap-table domain. Ledger writes return `LedgerWritten | LedgerRejected | …`: a rejected
write names every problem (object, field, reason) and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Protocol, TypeVar, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.captable import captable, funds, ocf
from resolvers.captable.captable import LedgerProblems
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput
from resolvers.global_ids import decode_global_id
from schema.outcomes import outcome
from schema.types import captable_inputs as inputs
from schema.types.captable import (
    Deleted,
    Fund,
    FundFlow,
    FundInvestment,
    LedgerProblem,
    LedgerRejected,
    LedgerWritten,
    OcfImported,
    OcfRejected,
    StakeholderLink,
    Unlinked,
)
from schema.types.node import global_id
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem

Ctx = Info[RequestContext, None]
T = TypeVar("T")
R = TypeVar("R", LedgerRejected, OcfRejected)

LedgerWriteResult = Annotated[
    LedgerWritten | LedgerRejected | NotAllowed | InvalidInputProblem | ConflictProblem,
    strawberry.union("LedgerWriteResult"),
]
OcfImportResult = Annotated[
    OcfImported | OcfRejected | NotAllowed | InvalidInputProblem | ConflictProblem,
    strawberry.union("OcfImportResult"),
]
StakeholderLinkResult = Annotated[
    StakeholderLink | NotAllowed | NotFoundProblem | InvalidInputProblem, strawberry.union("StakeholderLinkResult")
]
UnlinkResult = Annotated[Unlinked | NotAllowed | NotFoundProblem, strawberry.union("UnlinkResult")]
FundResult = Annotated[
    Fund | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem, strawberry.union("FundResult")
]
FundFlowResult = Annotated[
    FundFlow | NotAllowed | NotFoundProblem | InvalidInputProblem, strawberry.union("FundFlowResult")
]
FundInvestmentResult = Annotated[
    FundInvestment | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("FundInvestmentResult"),
]
DeleteResult = Annotated[Deleted | NotAllowed | NotFoundProblem | InvalidInputProblem, strawberry.union("DeleteResult")]


class _OcfInput(Protocol):
    def ocf(self) -> dict[str, Any]: ...


def _ledger_checked(make: Callable[[], Awaitable[T]], rejected: type[R]) -> Callable[[], Awaitable[T | R]]:
    """`make`, with the ledger's own rejection (every problem, field by field) as `rejected`."""

    async def checked() -> T | R:
        try:
            return await make()
        except LedgerProblems as error:
            return rejected(message=error.message, problems=[LedgerProblem.of(p) for p in error.problems])

    return checked


async def _write(info: Ctx, items: list[dict[str, Any]]) -> LedgerWriteResult:
    async def run() -> LedgerWritten:
        written = await captable.append_items(info.context, items)
        return LedgerWritten(object_count=len(written.ids), ids=list(written.ids))

    return await outcome(_ledger_checked(run, LedgerRejected), (NotAllowed, InvalidInputProblem, ConflictProblem))


async def _typed(info: Ctx, input: _OcfInput) -> LedgerWriteResult:
    return await _write(info, [input.ocf()])


async def _flow(
    info: Ctx, kind: str, fund_id: strawberry.ID, on: date, amount: Decimal, limited_partner: str | None
) -> FundFlowResult:
    async def run() -> FundFlow:
        record = await funds.add_flow(
            info.context, kind, decode_global_id("Fund", fund_id, "fundId"), on, amount, limited_partner
        )
        return FundFlow.from_record(record)

    return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))


async def _delete_flow(info: Ctx, kind: str, id: strawberry.ID) -> DeleteResult:
    async def run() -> Deleted:
        deleted = await funds.delete_flow(info.context, kind, decode_global_id("FundFlow", id, "id"))
        return Deleted(deleted_id=global_id("FundFlow", deleted))

    return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))


@strawberry.type
class CapTableMutation:
    @strawberry.mutation(
        description="Append OCF-shaped objects and transactions (JSON objects with `object_type`) to the acting "
        "startup's ledger, all or nothing. Each is validated by its object_type (field-level problems), then the "
        "ledger as a whole. Owners, admins and members."
    )
    async def record_cap_table_events(self, info: Ctx, events: list[JSON]) -> LedgerWriteResult:
        # Client JSON: check_items reports any event that is not an object as a problem of its own.
        return await _write(info, [cast(dict[str, Any], event) for event in events])

    @strawberry.mutation(description="Add a stakeholder (person or institution) to the ledger.")
    async def create_stakeholder(self, info: Ctx, input: inputs.CreateStakeholderInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Add a stock class with its authorized shares.")
    async def create_stock_class(self, info: Ctx, input: inputs.CreateStockClassInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Add a stock plan (option pool) with its reserved shares.")
    async def create_stock_plan(self, info: Ctx, input: inputs.CreateStockPlanInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Issue stock to a stakeholder.")
    async def issue_stock(self, info: Ctx, input: inputs.IssueStockInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(
        description="Transfer (part of) a stock certificate: the resulting certificates must be issued first "
        "(in the same call to recordCapTableEvents, or earlier)."
    )
    async def transfer_stock(self, info: Ctx, input: inputs.TransferStockInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Cancel (part of) a stock certificate.")
    async def cancel_stock(self, info: Ctx, input: inputs.CancelStockInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Grant options or RSUs under a stock plan.")
    async def grant_equity_compensation(
        self, info: Ctx, input: inputs.GrantEquityCompensationInput
    ) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Exercise (part of) an option grant into previously issued stock.")
    async def exercise_equity_compensation(
        self, info: Ctx, input: inputs.ExerciseEquityCompensationInput
    ) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Issue a SAFE, J-KISS or convertible note.")
    async def issue_convertible(self, info: Ctx, input: inputs.IssueConvertibleInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Set a stock plan's total reserve (a pool top-up or reduction).")
    async def adjust_stock_plan_pool(self, info: Ctx, input: inputs.AdjustStockPlanPoolInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Split (or reverse-split) a stock class.")
    async def split_stock_class(self, info: Ctx, input: inputs.SplitStockClassInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Record a priced round (pre-money stored explicitly) naming its issuances.")
    async def record_financing(self, info: Ctx, input: inputs.RecordFinancingInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(description="Record a valuation (409A) of a stock class.")
    async def record_valuation(self, info: Ctx, input: inputs.RecordValuationInput) -> LedgerWriteResult:
        return await _typed(info, input)

    @strawberry.mutation(
        description="Import an OCF package (1.0.x to 1.2.x) into the acting startup's ledger. `package` is the "
        "`.ocf.zip` encoded in base64: the API accepts JSON bodies only (a CSRF defence: no multipart uploads), so "
        "files travel base64 in a variable. A package with any problem is rejected whole and nothing is written."
    )
    async def import_ocf_package(self, info: Ctx, package: str) -> OcfImportResult:
        async def run() -> OcfImported:
            imported = await ocf.import_base64(info.context, package)
            return OcfImported(
                object_count=imported.object_count, warnings=[LedgerProblem.of(w) for w in imported.warnings]
            )

        return await outcome(_ledger_checked(run, OcfRejected), (NotAllowed, InvalidInputProblem, ConflictProblem))

    @strawberry.mutation(
        description="Say that a stakeholder is the holding of a VC (its portfolio shows it). The VC must have "
        "requested access to this startup."
    )
    async def link_stakeholder_to_investor(self, info: Ctx, stakeholder_id: str, vc_slug: str) -> StakeholderLinkResult:
        async def run() -> StakeholderLink:
            return StakeholderLink.from_record(await captable.link_stakeholder(info.context, stakeholder_id, vc_slug))

        return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))

    @strawberry.mutation(description="Remove a stakeholder's link to an investor.")
    async def unlink_stakeholder(self, info: Ctx, stakeholder_id: str) -> UnlinkResult:
        async def run() -> Unlinked:
            return Unlinked(stakeholder_id=await captable.unlink_stakeholder(info.context, stakeholder_id))

        return await outcome(run, (NotAllowed, NotFoundProblem))

    # ---- funds (VC) ----

    @strawberry.mutation(description="Create a fund of the acting VC.")
    async def create_fund(self, info: Ctx, name: str, currency: str, vintage_year: int | None = None) -> FundResult:
        async def run() -> Fund:
            return Fund.from_record(await funds.create_fund(info.context, name, currency, vintage_year))

        return await outcome(run)

    @strawberry.mutation(description="Rename a fund or change its currency or vintage.")
    async def update_fund(
        self,
        info: Ctx,
        id: strawberry.ID,
        name: str | None = strawberry.UNSET,
        currency: str | None = strawberry.UNSET,
        vintage_year: int | None = strawberry.UNSET,
    ) -> FundResult:
        async def run() -> Fund:
            fund_id = decode_global_id("Fund", id, "id")
            given = {"name": name, "currency": currency, "vintage_year": vintage_year}
            fields = {k: v for k, v in given.items() if v is not strawberry.UNSET}
            if not fields:
                raise InvalidInput("nothing to change")
            return Fund.from_record(await funds.update_fund(info.context, fund_id, fields))

        return await outcome(run)

    @strawberry.mutation(description="Delete a fund with its commitments, calls, distributions and investments.")
    async def delete_fund(self, info: Ctx, id: strawberry.ID) -> DeleteResult:
        async def run() -> Deleted:
            deleted = await funds.delete_fund(info.context, decode_global_id("Fund", id, "id"))
            return Deleted(deleted_id=global_id("Fund", deleted))

        return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))

    @strawberry.mutation(description="A limited partner's commitment to a fund.")
    async def add_fund_commitment(
        self, info: Ctx, fund_id: strawberry.ID, limited_partner: str, amount: Decimal, committed_on: date
    ) -> FundFlowResult:
        return await _flow(info, "commitment", fund_id, committed_on, amount, limited_partner)

    @strawberry.mutation(description="A capital call (paid in).")
    async def record_capital_call(
        self, info: Ctx, fund_id: strawberry.ID, amount: Decimal, call_date: date
    ) -> FundFlowResult:
        return await _flow(info, "capital_call", fund_id, call_date, amount, None)

    @strawberry.mutation(description="A distribution to the limited partners.")
    async def record_distribution(
        self, info: Ctx, fund_id: strawberry.ID, amount: Decimal, distribution_date: date
    ) -> FundFlowResult:
        return await _flow(info, "distribution", fund_id, distribution_date, amount, None)

    @strawberry.mutation(description="Delete a commitment.")
    async def delete_fund_commitment(self, info: Ctx, id: strawberry.ID) -> DeleteResult:
        return await _delete_flow(info, "commitment", id)

    @strawberry.mutation(description="Delete a capital call.")
    async def delete_capital_call(self, info: Ctx, id: strawberry.ID) -> DeleteResult:
        return await _delete_flow(info, "capital_call", id)

    @strawberry.mutation(description="Delete a distribution.")
    async def delete_distribution(self, info: Ctx, id: strawberry.ID) -> DeleteResult:
        return await _delete_flow(info, "distribution", id)

    @strawberry.mutation(
        description="Tie a fund to a portfolio holding: a stakeholder the company linked to this VC; `allocation` "
        "is the fund's fraction of it (1 = all)."
    )
    async def add_fund_investment(
        self,
        info: Ctx,
        fund_id: strawberry.ID,
        company_id: strawberry.ID,
        stakeholder_id: str,
        allocation: Decimal = Decimal(1),
    ) -> FundInvestmentResult:
        async def run() -> FundInvestment:
            record = await funds.add_investment(
                info.context,
                decode_global_id("Fund", fund_id, "fundId"),
                decode_global_id("Tenant", company_id, "companyId"),
                stakeholder_id,
                allocation,
            )
            return FundInvestment.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="Delete a fund investment.")
    async def delete_fund_investment(self, info: Ctx, id: strawberry.ID) -> DeleteResult:
        async def run() -> Deleted:
            deleted = await funds.delete_investment(info.context, decode_global_id("FundInvestment", id, "id"))
            return Deleted(deleted_id=global_id("FundInvestment", deleted))

        return await outcome(run, (NotAllowed, NotFoundProblem, InvalidInputProblem))
