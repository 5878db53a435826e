"""`node(id)`: any Node again by its global id, through the resolver and checks of the type's own query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.common.context import RequestContext
from resolvers.global_ids import NODE_TYPE_NAMES, NodeType
from resolvers.nodes import FETCHERS, fetch_node
from schema.types.billing import Invoice, InvoiceRun, PricingPlan
from schema.types.captable import Fund, FundFlow, FundInvestment
from schema.types.cost_assemblies import CostAssembly
from schema.types.costs import CostImport
from schema.types.financials import FinancialReport, KpiDefinition, KpiReport, KpiRequest
from schema.types.grants import PortfolioGrant
from schema.types.invitations import Invitation
from schema.types.node import Node
from schema.types.staged_imports import StagedImport
from schema.types.tenancy import Tenant, User

Ctx = Info[RequestContext, None]

# Type name → its GraphQL type built from what the type's fetcher returns.
NODE_BUILDERS: dict[NodeType, Callable[[Any], Node]] = {
    "CostAssembly": CostAssembly.from_view,
    "CostImport": CostImport.from_record,
    "FinancialReport": FinancialReport.from_view,
    "Fund": Fund.from_record,
    "FundFlow": FundFlow.from_record,
    "FundInvestment": FundInvestment.from_record,
    "Invitation": Invitation.from_record,
    "Invoice": Invoice.from_record,
    "InvoiceRun": InvoiceRun.from_record,
    "KpiDefinition": KpiDefinition.from_record,
    "KpiReport": KpiReport.from_view,
    "KpiRequest": KpiRequest.from_record,
    "PortfolioGrant": PortfolioGrant.from_record,
    "PricingPlan": PricingPlan.from_plan,
    "StagedImport": StagedImport.of,
    "Tenant": Tenant.from_record,
    "User": User.from_record,
}
assert set(NODE_BUILDERS) == set(FETCHERS) == NODE_TYPE_NAMES, "every Node type needs its fetcher and its type"


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="The object a global id (any `id` of a Node) names, if you may read it; NOT_FOUND otherwise "
        "(an unknown id and one you may not read give the same answer); BAD_USER_INPUT for what is not a global id."
    )
    async def node(self, info: Ctx, id: strawberry.ID) -> Node | None:
        type_name, record = await fetch_node(info.context, id)
        return NODE_BUILDERS[type_name](record)
