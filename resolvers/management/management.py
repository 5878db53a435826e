"""What the financial-statement and KPI resolvers share: whose company a read is about."""

from __future__ import annotations

from uuid import UUID

from db.queries import tenancy
from policies.principal import TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput, NotFound


async def company_id(ctx: RequestContext, company_slug: str | None) -> UUID:
    """The acting startup by default; with a slug, that startup if it is visible (a VC's granting startup).

    Which of its rows the caller then sees is the policies' decision: all of them for its own members, the
    finalized reports for a VC holding an active `financials` grant, nothing for anyone else.
    """
    acting = ctx.require_tenant()
    if company_slug is None or company_slug == acting.slug:
        if acting.kind is not TenantKind.STARTUP:
            raise InvalidInput("name the company you want to read (companySlug)", field="companySlug")
        return acting.id
    tenant = await tenancy.tenant_by_slug(ctx.tx, company_slug)
    if tenant is None or tenant.kind is not TenantKind.STARTUP:
        raise NotFound(f"no company {company_slug!r} is visible to you")
    return tenant.id
