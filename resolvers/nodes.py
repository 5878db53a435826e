"""The fetch behind `node(id)`: each Node type by the resolver and checks of its own query.

Every refusal tied to the object — unknown, another tenant's, a role that may not read it — is the same
NOT_FOUND, so an id's existence never shows. The id itself is decoded by resolvers.global_ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from db.captable_records import FundFlowRecord, FundInvestmentRecord
from db.financials_records import KpiDefinitionRecord, KpiRequestRecord
from db.queries import billing as billing_queries
from db.queries import funds as fund_queries
from db.queries import grants as grant_queries
from db.queries import invitations as invitation_queries
from db.queries import kpi_requests as kpi_request_queries
from db.queries import kpis as kpi_queries
from db.queries import tenancy
from db.records import GrantRecord, InvitationRecord, TenantRecord, UserRecord
from policies.principal import TenantKind
from resolvers.billing import reads, runs
from resolvers.billing.access import BILLING_ADMINS
from resolvers.billing.plans import PlanWithVersions
from resolvers.captable import funds, staged_imports
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, NotFound
from resolvers.costs import assemblies as cost_assemblies
from resolvers.costs import imports as cost_imports
from resolvers.global_ids import NodeType, parse_global_id
from resolvers.management import financials, kpis
from resolvers.management.kpis import ReportWithValues

T = TypeVar("T")


def _visible(found: T | None) -> T:
    """A row the policies (or the type's own checks) did not show: NOT_FOUND, as for an unknown id."""
    if found is None:
        raise NotFound("not visible")
    return found


async def tenant(ctx: RequestContext, tenant_id: UUID) -> TenantRecord:
    ctx.require_principal()
    found = await tenancy.tenants_by_ids(ctx.tx, [tenant_id])
    if not found:
        raise NotFound("not visible")
    return found[0]


async def portfolio_grant(ctx: RequestContext, grant_id: UUID) -> GrantRecord:
    acting = ctx.require_tenant()
    found = await grant_queries.grant_by_id(ctx.tx, grant_id)
    if found is None or acting.id not in (found.tenant_id, found.vc_tenant_id):
        raise NotFound("not visible")
    return found


async def kpi_request(ctx: RequestContext, request_id: UUID) -> KpiRequestRecord:
    acting = ctx.require_tenant()
    found = await kpi_request_queries.request_by_id(ctx.tx, request_id)
    if found is None or acting.id not in (found.tenant_id, found.vc_tenant_id):
        raise NotFound("not visible")
    return found


async def pricing_plan(ctx: RequestContext, plan_id: UUID) -> PlanWithVersions:
    operator = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR).id
    plan = await billing_queries.plan_by_id(ctx.tx, plan_id)
    if plan is None or plan.tenant_id != operator:
        raise NotFound("not visible")
    return PlanWithVersions(plan, tuple(await billing_queries.plan_versions(ctx.tx, [plan_id])))


async def user(ctx: RequestContext, user_id: UUID) -> UserRecord:
    """The caller, or a member of the tenant the caller acts for (as `Tenant.members` shows them)."""
    principal = ctx.require_principal()
    if user_id != principal.user_id:
        acting = ctx.require_tenant()
        if await tenancy.membership(ctx.tx, acting.id, user_id) is None:
            raise NotFound("not visible")
    return _visible(await tenancy.user_by_id(ctx.tx, user_id))


async def invitation(ctx: RequestContext, invitation_id: UUID) -> InvitationRecord:
    """The policies decide: the acting tenant's invitations to its admins, and the ones addressed to the caller."""
    ctx.require_principal()
    return _visible(await invitation_queries.invitation_by_id(ctx.tx, invitation_id))


async def fund_flow(ctx: RequestContext, flow_id: UUID) -> FundFlowRecord:
    acting = ctx.require_tenant(TenantKind.VC)
    return _visible(await fund_queries.flow_by_id(ctx.tx, acting.id, flow_id))


async def fund_investment(ctx: RequestContext, investment_id: UUID) -> FundInvestmentRecord:
    acting = ctx.require_tenant(TenantKind.VC)
    return _visible(await fund_queries.investment_by_id(ctx.tx, acting.id, investment_id))


async def kpi_definition(ctx: RequestContext, definition_id: UUID) -> KpiDefinitionRecord:
    """Yours, or a startup's that granted you FINANCIALS (the policies decide; a granted read is audited)."""
    ctx.require_tenant()
    found = _visible(await kpi_queries.definition_by_id(ctx.tx, definition_id))
    await audit_granted_reads(ctx, [found.tenant_id], kpis.SCOPE, "kpi_definitions")
    return found


async def kpi_report(ctx: RequestContext, report_id: UUID) -> ReportWithValues:
    """Yours, or a granting startup's finalized one (the policies decide; a granted read is audited)."""
    ctx.require_tenant()
    found = _visible(await kpi_queries.report_by_id(ctx.tx, report_id))
    await audit_granted_reads(ctx, [found.tenant_id], kpis.SCOPE, "kpi_reports")
    values = await kpi_queries.values_of(ctx.tx, [(found.tenant_id, found.id)])
    return ReportWithValues(found, values[(found.tenant_id, found.id)])


# Type name → the fetch its own query uses (records; the schema turns them into its types).
FETCHERS: dict[NodeType, Callable[[RequestContext, UUID], Awaitable[Any]]] = {
    "CostAssembly": cost_assemblies.cost_assembly,
    "CostImport": cost_imports.cost_import,
    "FinancialReport": financials.report,
    "Fund": funds.fund,
    "FundFlow": fund_flow,
    "FundInvestment": fund_investment,
    "Invitation": invitation,
    "Invoice": reads.invoice,
    "InvoiceRun": runs.invoice_run,
    "KpiDefinition": kpi_definition,
    "KpiReport": kpi_report,
    "KpiRequest": kpi_request,
    "PortfolioGrant": portfolio_grant,
    "PricingPlan": pricing_plan,
    "StagedImport": staged_imports.view,
    "Tenant": tenant,
    "User": user,
}


async def fetch_node(ctx: RequestContext, global_id: str) -> tuple[NodeType, Any]:
    type_name, key = parse_global_id(global_id, "id")
    try:
        return type_name, await FETCHERS[type_name](ctx, key)
    except (NotFound, Forbidden):
        raise NotFound(f"no node {global_id!r} is visible to you") from None
