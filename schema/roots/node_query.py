"""`node(id)`: any Node again by its global id, through the resolver and checks of the type's own query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.common.context import RequestContext
from resolvers.nodes import NODE_TYPES, fetch_node
from schema.types.billing import Invoice, InvoiceRun, PricingPlan
from schema.types.captable import Fund
from schema.types.costs import CostImport
from schema.types.financials import FinancialReport, KpiRequest
from schema.types.grants import PortfolioGrant
from schema.types.node import Node
from schema.types.tenancy import Tenant

Ctx = Info[RequestContext, None]

_TYPES: dict[str, Callable[[Any], Node]] = {
    "Tenant": Tenant.from_record,
    "PortfolioGrant": PortfolioGrant.from_record,
    "KpiRequest": KpiRequest.from_record,
    "PricingPlan": PricingPlan.from_plan,
    "Fund": Fund.from_record,
    "FinancialReport": FinancialReport.from_view,
    "CostImport": CostImport.from_record,
    "Invoice": Invoice.from_record,
    "InvoiceRun": InvoiceRun.from_record,
}
assert set(_TYPES) == NODE_TYPES, "every fetchable node type needs its GraphQL type"


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="The object a global id (`nodeId`) names, if you may read it; NOT_FOUND otherwise (an unknown "
        "id and one you may not read give the same answer)."
    )
    async def node(self, info: Ctx, id: strawberry.ID) -> Node | None:
        type_name, record = await fetch_node(info.context, str(id))
        return _TYPES[type_name](record)
