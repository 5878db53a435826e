"""Queries of the tenancy domain: the caller, tenants, company profiles, grants, audit."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from db.records import GrantStatus, InvitationStatus
from policies.principal import Role
from resolvers.common import audit, cursors
from resolvers.common.context import RequestContext
from resolvers.common.pages import page_request
from resolvers.tenancy import companies, grants, invitations, tenants
from schema.types.audit import AuditEvent
from schema.types.grants import PortfolioGrant
from schema.types.invitations import Invitation
from schema.types.pagination import Connection, connection
from schema.types.tenancy import CompanyProfile, Me, Membership, Tenant, User

Ctx = Info[RequestContext, None]


@strawberry.type
class TenancyQuery:
    @strawberry.field(description="The authenticated user, and the tenant they act for.")
    async def me(self, info: Ctx) -> Me | None:
        ctx = info.context
        user = await tenants.me(ctx)
        tenant = await tenants.acting_tenant(ctx)
        principal = ctx.require_principal()
        return Me(
            user=User.from_record(user),
            acting_tenant=None if tenant is None else Tenant.from_record(tenant),
            role=None if principal.tenant is None else principal.tenant.role,
        )

    @strawberry.field(description="Your memberships, ordered by tenant slug.")
    async def tenants(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Membership] | None:
        ctx = info.context
        page = await tenants.my_tenants(
            ctx, page_request(first, after, ctx.max_page_size, cursors.TENANTS, last=last, before=before)
        )
        return connection(
            page,
            lambda item: Membership(
                role=Role(item[1]),
                created_at=item[0].created_at,
                tenant_id=item[0].id,
                user_id=ctx.require_principal().user_id,
            ),
            lambda item: (item[0].slug,),
            cursor=cursors.TENANTS,
        )

    @strawberry.field(description="A tenant you belong to or are related to (grant counterpart, billed tenant).")
    async def tenant(self, info: Ctx, slug: str) -> Tenant | None:
        return Tenant.from_record(await tenants.tenant_by_slug(info.context, slug))

    @strawberry.field(description="Company profiles you may read: your own, and those granted with scope COMPANY.")
    async def companies(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CompanyProfile] | None:
        ctx = info.context
        page = await companies.visible_profiles(
            ctx, page_request(first, after, ctx.max_page_size, cursors.COMPANIES, last=last, before=before)
        )
        return connection(page, CompanyProfile.from_record, lambda p: (p.tenant_id,), cursor=cursors.COMPANIES)

    @strawberry.field(description="Grants where the acting tenant is the startup or the VC, oldest first.")
    async def portfolio_grants(
        self,
        info: Ctx,
        status: GrantStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PortfolioGrant] | None:
        ctx = info.context
        page = await grants.grants_page(
            ctx,
            None if status is None else status.value,
            page_request(first, after, ctx.max_page_size, cursors.PORTFOLIO_GRANTS, last=last, before=before),
        )
        return connection(
            page, PortfolioGrant.from_record, lambda g: (g.created_at, g.id), cursor=cursors.PORTFOLIO_GRANTS
        )

    @strawberry.field(description="Pending invitations addressed to your e-mail, oldest first.")
    async def my_invitations(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Invitation] | None:
        ctx = info.context
        page = await invitations.mine(
            ctx, page_request(first, after, ctx.max_page_size, cursors.INVITATIONS, last=last, before=before)
        )
        return connection(page, Invitation.from_record, lambda i: (i.created_at, i.id), cursor=cursors.INVITATIONS)

    @strawberry.field(description="The acting tenant's invitations, oldest first (owners and admins).")
    async def invitations(
        self,
        info: Ctx,
        status: InvitationStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Invitation] | None:
        ctx = info.context
        page = await invitations.of_tenant(
            ctx,
            None if status is None else status.value,
            page_request(first, after, ctx.max_page_size, cursors.TENANT_INVITATIONS, last=last, before=before),
        )
        return connection(
            page, Invitation.from_record, lambda i: (i.created_at, i.id), cursor=cursors.TENANT_INVITATIONS
        )

    @strawberry.field(description="The acting tenant's audit trail, newest first (owners and admins).")
    async def audit_events(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEvent] | None:
        ctx = info.context
        page = await audit.audit_events(
            ctx, page_request(first, after, ctx.max_page_size, cursors.AUDIT_EVENTS, last=last, before=before)
        )
        return connection(page, AuditEvent.from_record, lambda e: (e.id,), cursor=cursors.AUDIT_EVENTS)
