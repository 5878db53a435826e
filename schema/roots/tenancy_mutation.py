"""Mutations of the tenancy domain. Each returns a union of its result and the expected problems."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import companies, grants, invitations, members
from resolvers.context import RequestContext
from schema.outcomes import outcome, parse_id
from schema.types.grants import GrantScope, PortfolioGrant
from schema.types.invitations import Invitation
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem
from schema.types.tenancy import CompanyProfile, Membership, RemovedMember, Role

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
        description="Invite an e-mail address into the acting tenant (owners and admins; only owners invite"
        " owners). The answer is the same whether or not the address belongs to a user."
    )
    async def invite_member(self, info: Ctx, email: str, role: Role) -> InviteMemberResult:
        async def run() -> Invitation:
            return Invitation.from_record(await invitations.invite(info.context, email, role))

        return await outcome(run)

    @strawberry.mutation(description="Revoke a pending invitation of the acting tenant. Owners and admins.")
    async def revoke_invitation(self, info: Ctx, id: strawberry.ID) -> InvitationResult:
        async def run() -> Invitation:
            return Invitation.from_record(await invitations.revoke(info.context, parse_id(id, "id")))

        return await outcome(run)

    @strawberry.mutation(description="Accept an invitation addressed to you: you become a member with its role.")
    async def accept_invitation(self, info: Ctx, id: strawberry.ID) -> AcceptInvitationResult:
        async def run() -> Membership:
            return Membership.from_record(await invitations.accept(info.context, parse_id(id, "id")))

        return await outcome(run)

    @strawberry.mutation(description="Decline an invitation addressed to you.")
    async def decline_invitation(self, info: Ctx, id: strawberry.ID) -> InvitationResult:
        async def run() -> Invitation:
            return Invitation.from_record(await invitations.decline(info.context, parse_id(id, "id")))

        return await outcome(run)

    @strawberry.mutation(description="Change a member's role. Owners and admins; only owners touch owners.")
    async def change_member_role(self, info: Ctx, user_id: strawberry.ID, role: Role) -> MemberResult:
        async def run() -> Membership:
            record = await members.change_member_role(info.context, parse_id(user_id, "userId"), role)
            return Membership.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="Remove a member. A tenant always keeps one owner.")
    async def remove_member(self, info: Ctx, user_id: strawberry.ID) -> RemoveMemberResult:
        async def run() -> RemovedMember:
            removed = await members.remove_member(info.context, parse_id(user_id, "userId"))
            return RemovedMember(user_id=strawberry.ID(str(removed)))

        return await outcome(run)

    @strawberry.mutation(description="A VC's owner or admin asks a startup for access to some scopes.")
    async def request_portfolio_access(self, info: Ctx, startup_slug: str, scopes: list[GrantScope]) -> GrantResult:
        async def run() -> PortfolioGrant:
            return PortfolioGrant.from_record(await grants.request_access(info.context, startup_slug, scopes))

        return await outcome(run)

    @strawberry.mutation(description="The startup's owner or admin approves (some of) the requested scopes.")
    async def approve_portfolio_access(
        self, info: Ctx, id: strawberry.ID, scopes: list[GrantScope], expires_at: datetime | None = None
    ) -> GrantResult:
        async def run() -> PortfolioGrant:
            record = await grants.approve_access(info.context, parse_id(id, "id"), scopes, expires_at)
            return PortfolioGrant.from_record(record)

        return await outcome(run)

    @strawberry.mutation(description="The startup's owner or admin revokes a grant; effective on the next statement.")
    async def revoke_portfolio_access(self, info: Ctx, id: strawberry.ID) -> GrantResult:
        async def run() -> PortfolioGrant:
            return PortfolioGrant.from_record(await grants.revoke_access(info.context, parse_id(id, "id")))

        return await outcome(run)

    @strawberry.mutation(description="Create or edit the acting startup's company profile. Owners and admins.")
    async def update_company_profile(self, info: Ctx, input: CompanyProfileInput) -> CompanyProfileResult:
        async def run() -> CompanyProfile:
            fields = {name: value for name, value in vars(input).items() if value is not strawberry.UNSET}
            return CompanyProfile.from_record(await companies.update_profile(info.context, fields))

        return await outcome(run)
