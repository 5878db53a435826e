"""The caller, their tenants, and a tenant's members."""

from __future__ import annotations

from uuid import UUID

from db.pagination import Page
from db.queries import tenancy
from db.records import MembershipRecord, TenantRecord, UserRecord
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, NotFound
from resolvers.common.pages import PageRequest


async def me(ctx: RequestContext) -> UserRecord:
    principal = ctx.require_principal()
    user = await ctx.loaders.user.load(principal.user_id)
    if user is None:
        raise NotFound("your user no longer exists")
    return user


async def acting_tenant(ctx: RequestContext) -> TenantRecord | None:
    tenant = ctx.require_principal().tenant
    return None if tenant is None else await ctx.loaders.tenant.load(tenant.id)


async def my_tenants(ctx: RequestContext, page: PageRequest) -> Page[tuple[TenantRecord, str]]:
    ctx.require_principal()
    return await tenancy.my_tenants_page(ctx.tx, page)


async def tenant_by_slug(ctx: RequestContext, slug: str) -> TenantRecord:
    ctx.require_principal()
    tenant = await tenancy.tenant_by_slug(ctx.tx, slug)
    if tenant is None:
        raise NotFound(f"no tenant {slug!r} is visible to you")
    return tenant


async def members(ctx: RequestContext, tenant_id: UUID, page: PageRequest) -> Page[MembershipRecord]:
    acting = ctx.require_tenant()
    if acting.id != tenant_id:
        raise Forbidden("members are visible only in the tenant you act for")
    return await tenancy.members_page(ctx.tx, tenant_id, page)


async def count_members(ctx: RequestContext, tenant_id: UUID) -> int:
    return await tenancy.count_members(ctx.tx, tenant_id)
