"""Queries of the cap-table domain: the startup's cap table and ledger, the VC's portfolio and funds."""

from __future__ import annotations

import base64
from datetime import date
from uuid import UUID

import strawberry
from strawberry.types import Info

from captable.replay import ConvertibleRule
from resolvers.captable import captable, funds, ocf, portfolio
from resolvers.common import cursors
from resolvers.common.context import RequestContext
from resolvers.common.pages import page_request
from resolvers.global_ids import decode_global_id, decode_optional_global_id
from resolvers.management import kpis
from schema.types.captable import (
    CapTable,
    Fund,
    LedgerItem,
    OcfPackage,
    PortfolioCompany,
    VestingStatus,
)
from schema.types.financials import KpiValue
from schema.types.pagination import Connection, connection
from schema.types.selection import selects
from schema.types.tenancy import Tenant

Ctx = Info[RequestContext, None]


def company_id(value: strawberry.ID | None) -> UUID | None:
    return decode_optional_global_id("Tenant", value, "company")


@strawberry.type
class CapTableQuery:
    @strawberry.field(
        description="The cap table replayed as of `asOf` (default today): positions, outstanding and fully diluted "
        "shares, ownership by holder and class, option pools. `company` (a VC reading a startup that granted it "
        "CAPTABLE) defaults to the acting startup."
    )
    async def cap_table(
        self,
        info: Ctx,
        as_of: date | None = None,
        convertible_rule: ConvertibleRule = ConvertibleRule.EXCLUDE,
        company: strawberry.ID | None = None,
    ) -> CapTable | None:
        view = await captable.cap_table(info.context, company_id(company), as_of, ConvertibleRule(convertible_rule))
        return CapTable.of(view)

    @strawberry.field(description="Vested and unvested quantity of a grant as of `asOf` (default today).")
    async def vesting_status(
        self, info: Ctx, security_id: str, as_of: date | None = None, company: strawberry.ID | None = None
    ) -> VestingStatus | None:
        when = as_of or captable.today()
        status = await captable.vesting(info.context, company_id(company), security_id, when)
        return VestingStatus.of(status, when)

    @strawberry.field(description="The ledger's items (OCF objects and transactions) in the order they were recorded.")
    async def cap_table_ledger(
        self,
        info: Ctx,
        company: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[LedgerItem] | None:
        ctx = info.context
        page = await captable.ledger_page(
            ctx,
            company_id(company),
            page_request(first, after, ctx.max_page_size, cursors.CAP_TABLE_LEDGER, last=last, before=before),
        )
        return connection(page, LedgerItem.from_record, lambda r: (r.seq,), cursor=cursors.CAP_TABLE_LEDGER)

    @strawberry.field(description="The acting startup's ledger as an OCF 1.2 package (.ocf.zip, base64).")
    async def export_ocf_package(self, info: Ctx) -> OcfPackage | None:
        data = await ocf.export_package(info.context)
        slug = info.context.require_tenant().slug
        return OcfPackage(
            file_name=f"{slug}.ocf.zip", content_base64=base64.b64encode(data).decode(), size_bytes=len(data)
        )

    @strawberry.field(
        description="Every company that granted the acting VC the CAPTABLE scope, with the VC's holding (the "
        "stakeholders the company linked to the VC). Without `asOf`, the figures of the current snapshots."
    )
    async def portfolio(self, info: Ctx, as_of: date | None = None) -> list[PortfolioCompany] | None:
        entries = await portfolio.portfolio(info.context, as_of)
        # the companies come loaded, and fields are plain (not async) per entry: hundreds of awaitables cost
        # more than the SQL
        ids = [e.company_id for e in entries]
        latest = await kpis.latest_final_values(info.context, ids) if selects(info, "latestKpis") else {}
        return [
            PortfolioCompany.of(
                e,
                None if e.company is None else Tenant.from_record(e.company),
                [KpiValue.from_record(v) for v in latest.get(e.company_id, [])],
            )
            for e in entries
        ]

    @strawberry.field(description="The acting VC's funds, by name.")
    async def funds(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Fund] | None:
        ctx = info.context
        page = await funds.funds_page(
            ctx, page_request(first, after, ctx.max_page_size, cursors.FUNDS, last=last, before=before)
        )
        return connection(page, Fund.from_record, lambda f: (f.name, f.id), cursor=cursors.FUNDS)

    @strawberry.field(description="One of the acting VC's funds, with TVPI, DPI, RVPI and IRR.")
    async def fund(self, info: Ctx, id: strawberry.ID) -> Fund | None:
        return Fund.from_record(await funds.fund(info.context, decode_global_id("Fund", id, "id")))
