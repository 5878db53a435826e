"""Global ids and the fetch behind `node(id)`.

A global id is base64url of "<GraphQL type>:<uuid>". Decoding is strict (a known type, a canonical uuid,
bounded length); anything else is BAD_USER_INPUT. Fetching goes through the same resolver and checks as the
type's own query, and every refusal tied to the object — unknown, another tenant's, a role that may not read
it — is the same NOT_FOUND, so an id's existence never shows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from db.financials_records import KpiRequestRecord
from db.queries import billing as billing_queries
from db.queries import grants as grant_queries
from db.queries import kpi_requests as kpi_request_queries
from db.queries import tenancy
from db.records import GrantRecord, TenantRecord
from policies.principal import TenantKind
from resolvers.billing import reads, runs
from resolvers.billing.access import BILLING_ADMINS
from resolvers.billing.plans import PlanWithVersions
from resolvers.captable import funds
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput, NotFound
from resolvers.costs import imports as cost_imports
from resolvers.management import financials

MAX_GLOBAL_ID_LENGTH = 128


def encode_global_id(type_name: str, key: UUID | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def decode_global_id(value: str, types: frozenset[str], field: str = "id") -> tuple[str, UUID]:
    """The type name and uuid a global id names, if it is well formed and of one of `types`."""
    refusal = InvalidInput(f"{value[:80]!r} is not a global id (pass a nodeId the API returned)", field=field)
    if len(value) > MAX_GLOBAL_ID_LENGTH:
        raise refusal
    try:
        raw = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        raise refusal from None
    type_name, _, key = raw.partition(":")
    if type_name not in types or len(key) != 36:
        raise refusal
    try:
        parsed = UUID(key)
    except ValueError:
        raise refusal from None
    if str(parsed) != key:  # one spelling per object, so ids compare as strings
        raise refusal
    return type_name, parsed


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


# Type name → the fetch its own query uses (records; the schema turns them into its types).
FETCHERS: dict[str, Callable[[RequestContext, UUID], Awaitable[Any]]] = {
    "Tenant": tenant,
    "PortfolioGrant": portfolio_grant,
    "KpiRequest": kpi_request,
    "PricingPlan": pricing_plan,
    "Fund": funds.fund,
    "FinancialReport": financials.report,
    "CostImport": cost_imports.cost_import,
    "Invoice": reads.invoice,
    "InvoiceRun": runs.invoice_run,
}
NODE_TYPES = frozenset(FETCHERS)


async def fetch_node(ctx: RequestContext, global_id: str) -> tuple[str, Any]:
    type_name, key = decode_global_id(global_id, NODE_TYPES)
    try:
        return type_name, await FETCHERS[type_name](ctx, key)
    except (NotFound, Forbidden):
        raise NotFound(f"no node {global_id!r} is visible to you") from None
