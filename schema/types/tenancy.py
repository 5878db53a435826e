"""Tenants, users, memberships and company profiles."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from db.records import CompanyProfileRecord, MembershipRecord, TenantRecord, UserRecord
from policies.principal import Role, TenantKind
from resolvers.common import cursors
from resolvers.common.context import RequestContext
from resolvers.common.pages import page_request
from resolvers.tenancy import companies, tenants
from schema.types.node import Node
from schema.types.pagination import Connection, connection

# The engine enums themselves are the GraphQL enums: registered once here, typed by their own class everywhere.
strawberry.enum(TenantKind, name="TenantKind")
strawberry.enum(Role, name="Role")


async def load_tenant(info: Info[RequestContext, None], tenant_id: UUID) -> Tenant | None:
    """The tenant through the request's loader (batched, and hidden when the policies hide it)."""
    record = await info.context.loaders.tenant.load(tenant_id)
    return None if record is None else Tenant.from_record(record)


@strawberry.type
class User(Node):
    email: str
    display_name: str

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(db_id=record.id, email=record.email, display_name=record.display_name)


@strawberry.type
class CompanyProfile:
    legal_name: str
    country: str | None
    founded_on: date | None
    sector: str | None
    stage: str | None
    website: str | None
    updated_at: datetime
    tenant_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: CompanyProfileRecord) -> CompanyProfile:
        return cls(
            legal_name=record.legal_name,
            country=record.country,
            founded_on=record.founded_on,
            sector=record.sector,
            stage=record.stage,
            website=record.website,
            updated_at=record.updated_at,
            tenant_id=record.tenant_id,
        )

    @strawberry.field
    async def company(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.tenant_id)


@strawberry.type
class Tenant(Node):
    slug: str
    name: str
    kind: TenantKind
    created_at: datetime

    @classmethod
    def from_record(cls, record: TenantRecord) -> Tenant:
        return cls(
            db_id=record.id,
            slug=record.slug,
            name=record.name,
            kind=record.kind,
            created_at=record.created_at,
        )

    @strawberry.field(description="The company profile: the tenant's own, or one granted with scope COMPANY.")
    async def profile(self, info: Info[RequestContext, None]) -> CompanyProfile | None:
        record = await companies.profile_of(info.context, self.db_id)
        return None if record is None else CompanyProfile.from_record(record)

    @strawberry.field(description="Members, ordered by user id; only in the tenant you act for.")
    async def members(
        self,
        info: Info[RequestContext, None],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Membership]:
        ctx = info.context
        tenant_id = self.db_id
        request = page_request(first, after, ctx.max_page_size, cursors.MEMBERS, last=last, before=before)
        page = await tenants.members(ctx, tenant_id, request)
        return connection(
            page,
            lambda m: Membership.from_record(m),
            lambda m: (m.user_id,),
            cursor=cursors.MEMBERS,
            count=lambda: tenants.count_members(ctx, tenant_id),
        )


@strawberry.type
class Membership:
    role: Role
    created_at: datetime
    tenant_id: strawberry.Private[UUID]
    user_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: MembershipRecord) -> Membership:
        return cls(
            role=record.role,
            created_at=record.created_at,
            tenant_id=record.tenant_id,
            user_id=record.user_id,
        )

    @strawberry.field
    async def tenant(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.tenant_id)

    @strawberry.field
    async def user(self, info: Info[RequestContext, None]) -> User | None:
        record = await info.context.loaders.user.load(self.user_id)
        return None if record is None else User.from_record(record)


@strawberry.type
class Me:
    user: User
    acting_tenant: Tenant | None
    role: Role | None


@strawberry.type
class RemovedMember:
    user_id: strawberry.ID = strawberry.field(description="The removed user's global id.")
