"""Who acts on billing: the operator's billing admins, on the tenants their operator bills."""

from __future__ import annotations

from uuid import UUID

from db.queries import costs, tenancy
from db.records import TenantRecord
from db.session import RequestTransaction
from policies.principal import Role, TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import NotFound

BILLING_ADMINS = frozenset({Role.BILLING_ADMIN})


def require_billing_admin(ctx: RequestContext) -> None:
    ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)


def billing_operator(ctx: RequestContext) -> UUID:
    """The acting billing admin's operator."""
    return ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR).id


async def billed_customer(tx: RequestTransaction, slug: str) -> TenantRecord:
    tenant = await tenancy.tenant_by_slug(tx, slug)
    if tenant is None or not await costs.is_billed_tenant(tx, tenant.id):
        raise NotFound(f"your operator bills no tenant {slug!r}")
    return tenant
