"""Queries of the cost domain: cost rows, cloud accounts, import manifests."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from cost import Metric
from resolvers.common import cursors
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput
from resolvers.common.pages import page_request
from resolvers.costs import cloud_accounts, costs
from resolvers.costs import imports as cost_imports
from resolvers.global_ids import decode_global_id
from schema.types.costs import CloudAccount, CostFilterInput, CostGroupBy, CostImport, CostRow
from schema.types.pagination import Connection, connection

Ctx = Info[RequestContext, None]


@strawberry.type
class CostsQuery:
    @strawberry.field(
        description="Cloud cost summed per group, in each row's currency. Yours by default; with `company`, "
        "a startup that granted you COSTS or that your operator bills; a billing admin without `company` "
        "sees every tenant the operator bills. Give `period` (YYYY-MM) or `from`/`to` (inclusive)."
    )
    async def costs(
        self,
        info: Ctx,
        group_by: list[CostGroupBy],
        metrics: list[Metric],
        period: str | None = None,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
        tag_key: str | None = None,
        filter: CostFilterInput | None = None,
        company: str | None = None,
        category_set: str | None = None,
    ) -> list[CostRow] | None:
        chosen = filter or CostFilterInput()
        if (CostGroupBy.CATEGORY in group_by) != (category_set is not None):
            raise InvalidInput("group by CATEGORY together with categorySet", field="categorySet")
        query = costs.CostQuery(
            group_by=[g.dimension() for g in group_by if g is not CostGroupBy.CATEGORY],
            metrics=list(metrics),
            period=period,
            period_from=from_,
            period_to=to,
            tag_key=tag_key,
            services=chosen.services or (),
            regions=chosen.regions or (),
            charge_categories=chosen.charge_categories or (),
            line_item_types=chosen.line_item_types or (),
            accounts=chosen.accounts or (),
            tags={t.key: t.values for t in chosen.tags or ()},
            company=company,
            category_set=category_set,
        )
        return [CostRow.from_row(row) for row in await costs.cost_rows(info.context, query)]

    @strawberry.field(description="Cloud accounts you may see (yours, granted COSTS, billed), by account id.")
    async def cloud_accounts(
        self,
        info: Ctx,
        company: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CloudAccount] | None:
        ctx = info.context
        page = await cloud_accounts.cloud_accounts(
            ctx,
            page_request(first, after, ctx.max_page_size, cursors.CLOUD_ACCOUNTS, last=last, before=before),
            company,
        )
        return connection(
            page, CloudAccount.from_record, lambda a: (a.account_id, str(a.tenant_id)), cursor=cursors.CLOUD_ACCOUNTS
        )

    @strawberry.field(description="One cost import of your operator and its progress (billing admins).")
    async def cost_import(self, info: Ctx, id: strawberry.ID) -> CostImport | None:
        return CostImport.from_record(
            await cost_imports.cost_import(info.context, decode_global_id("CostImport", id, "id"))
        )

    @strawberry.field(description="Your operator's cost imports, oldest first (billing admins).")
    async def cost_imports(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CostImport] | None:
        ctx = info.context
        page = await cost_imports.cost_imports(
            ctx, page_request(first, after, ctx.max_page_size, cursors.COST_IMPORTS, last=last, before=before)
        )
        return connection(page, CostImport.from_record, lambda i: (i.created_at, i.id), cursor=cursors.COST_IMPORTS)
