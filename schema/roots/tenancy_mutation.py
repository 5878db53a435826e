"""Mutations of the tenancy domain. Each returns a union of its result and the expected problems."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from policies.principal import Role, TenantKind
from resolvers.common.context import RequestContext
from resolvers.global_ids import decode_global_id
from resolvers.tenancy import companies, grants, invitations, members, onboarding
from resolvers.tenancy.grants import Scope
from schema.outcomes import outcome
from schema.types.grants import PortfolioGrant
from schema.types.invitations import Invitation
from schema.types.node import global_id
from schema.types.onboarding import CustomerCreated
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem
from schema.types.tenancy import CompanyProfile, Membership, RemovedMember, Tenant

Ctx = Info[RequestContext, None]

MemberResult = Annotated[
    Membership | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("MemberResult"),
]
InviteMemberResult = Annotated[
    Invitation | NotAllowed | InvalidInputProblem | ConflictProblem, strawberry.union("InviteMemberResult")
]
InvitationResult = Annotated[
    Invitation | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("InvitationResult"),
]
AcceptInvitationResult = Annotated[
    Membership | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("AcceptInvitationResult"),
]
RemoveMemberResult = Annotated[
    RemovedMember | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("RemoveMemberResult"),
]
GrantResult = Annotated[
    PortfolioGrant | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("GrantResult"),
]
CreateTenantResult = Annotated[
    Tenant | NotAllowed | InvalidInputProblem | ConflictProblem, strawberry.union("CreateTenantResult")
]
CreateCustomerResult = Annotated[
    CustomerCreated | NotAllowed | InvalidInputProblem | ConflictProblem, strawberry.union("CreateCustomerResult")
]
CompanyProfileResult = Annotated[
    CompanyProfile | NotAllowed | InvalidInputProblem, strawberry.union("CompanyProfileResult")
]


@strawberry.input
class CompanyProfileInput:
    legal_name: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    founded_on: date | None = strawberry.UNSET
    sector: str | None = strawberry.UNSET
    stage: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET


@strawberry.type
class TenancyMutation:
    @strawberry.mutation(
        description="Create a startup owned by you. Slug: 3 to 40 lowercase letters, digits and inner hyphens."
    )
    async def create_startup(self, info: Ctx, slug: str, name: str) -> CreateTenantResult:
        async def run() -> Tenant:
            return Tenant.from_record(await onboarding.create_tenant(info.context, TenantKind.STARTUP, slug, name))

        return await outcome(run, (NotAllowed, InvalidInputProblem, ConflictProblem))

    @strawberry.mutation(description="Create a venture capital firm owned by you. Slug as for createStartup.")
    async def create_venture_firm(self, info: Ctx, slug: str, name: str) -> CreateTenantResult:
        async def run() -> Tenant:
            return Tenant.from_record(await onboarding.create_tenant(info.context, TenantKind.VC, slug, name))

        return await outcome(run, (NotAllowed, InvalidInputProblem, ConflictProblem))

    @strawberry.mutation(
        description="A billing admin of the acting operator creates a startup it bills and invites its first"
        " owner (`ownerEmail`, who accepts with acceptInvitation)."
    )
    async def create_customer(self, info: Ctx, slug: str, name: str, owner_email: str) -> CreateCustomerResult:
        async def run() -> CustomerCreated:
            return CustomerCreated.from_result(await onboarding.create_customer(info.context, slug, name, owner_email))

        return await outcome(run, (NotAllowed, InvalidInputProblem, ConflictProblem))

    @strawberry.mutation(
        description="Invite an e-mail address into the acting tenant (owners and admins; only owners invite"
        " owners). The answer is the same whether or not the address belongs to a user."
    )
    async def invite_member(self, info: Ctx, email: str, role: Role) -> InviteMemberResult:
        async def run() -> Invitation:
            return Invitation.from_record(await invitations.invite(info.context, email, role))

        return await outcome(run, (NotAllowed, InvalidInputProblem, ConflictProblem))

    @strawberry.mutation(description="Revoke a pending invitation of the acting tenant. Owners and admins.")
    async def revoke_invitation(self, info: Ctx, id: strawberry.ID) -> InvitationResult:
        async def run() -> Invitation:
            return Invitation.from_record(
                await invitations.revoke(info.context, decode_global_id("Invitation", id, "id"))
            )

        return await outcome(run)

    @strawberry.mutation(description="Accept an invitation addressed to you: you become a member with its role.")
    async def accept_invitation(self, info: Ctx, id: strawberry.ID) -> AcceptInvitationResult:
        async def run() -> Membership:
            return Membership.from_record(
                await invitations.accept(info.context, decode_global_id("Invitation", id, "id"))
            )

        return await outcome(run)

    @strawberry.mutation(description="Decline an invitation addressed to you.")
    async def decline_invitation(self, info: Ctx, id: strawberry.ID) -> InvitationResult:
        async def run() -> Invitation:
            return Invitation.from_record(
                await invitations.decline(info.context, decode_global_id("Invitation", id, "id"))
            )

        return await outcome(run)

    @strawberry.mutation(description="Change a member's role. Owners and admins; only owners touch owners.")
    async def change_member_role(self, info: Ctx, user_id: strawberry.ID, role: Role) -> MemberResult:
        async def run() -> Membership:
            record = await members.change_member_role(info.context, decode_global_id("User", user_id, "userId"), role)
            return Membership.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="Remove a member. A tenant always keeps one owner.")
    async def remove_member(self, info: Ctx, user_id: strawberry.ID) -> RemoveMemberResult:
        async def run() -> RemovedMember:
            removed = await members.remove_member(info.context, decode_global_id("User", user_id, "userId"))
            return RemovedMember(user_id=global_id("User", removed))

        return await outcome(run)

    @strawberry.mutation(description="A VC's owner or admin asks a startup for access to some scopes.")
    async def request_portfolio_access(self, info: Ctx, startup_slug: str, scopes: list[Scope]) -> GrantResult:
        async def run() -> PortfolioGrant:
            return PortfolioGrant.from_record(await grants.request_access(info.context, startup_slug, scopes))

        return await outcome(run)

    @strawberry.mutation(description="The startup's owner or admin approves (some of) the requested scopes.")
    async def approve_portfolio_access(
        self, info: Ctx, id: strawberry.ID, scopes: list[Scope], expires_at: datetime | None = None
    ) -> GrantResult:
        async def run() -> PortfolioGrant:
            record = await grants.approve_access(
                info.context, decode_global_id("PortfolioGrant", id, "id"), scopes, expires_at
            )
            return PortfolioGrant.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="The startup's owner or admin revokes a grant; effective on the next statement.")
    async def revoke_portfolio_access(self, info: Ctx, id: strawberry.ID) -> GrantResult:
        async def run() -> PortfolioGrant:
            return PortfolioGrant.from_record(
                await grants.revoke_access(info.context, decode_global_id("PortfolioGrant", id, "id"))
            )

        return await outcome(run)

    @strawberry.mutation(description="Create or edit the acting startup's company profile. Owners and admins.")
    async def update_company_profile(self, info: Ctx, input: CompanyProfileInput) -> CompanyProfileResult:
        async def run() -> CompanyProfile:
            fields = {name: value for name, value in vars(input).items() if value is not strawberry.UNSET}
            return CompanyProfile.from_record(await companies.update_profile(info.context, fields))

        return await outcome(run, (NotAllowed, InvalidInputProblem))
