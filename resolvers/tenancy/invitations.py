"""Membership by consent: an owner or admin invites an address, the user with that address accepts or
declines. The answer to an invitation is the same whether the address belongs to a user or not."""

from __future__ import annotations

from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import invitations, tenancy
from db.records import InvitationRecord, MembershipRecord
from policies.principal import ADMIN_ROLES, Role
from resolvers.common.context import RequestContext
from resolvers.common.emails import normalised_email
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id, quoting_global_id
from resolvers.tenancy.members import check_role_fits


async def invite(ctx: RequestContext, email: str, role: Role) -> InvitationRecord:
    check_role_fits(ctx, role)
    acting = ctx.require_role(ADMIN_ROLES)
    address = normalised_email(email)
    try:
        async with ctx.tx.savepoint():
            return await invitations.create_invitation(ctx.tx, acting.id, address, role.value)
    except UniqueViolation as error:
        if await invitations.is_member_email(ctx.tx, acting.id, address):
            raise Conflict(f"{address} is already a member of {acting.slug}") from error
        raise Conflict(f"{address} already has a pending invitation to {acting.slug}") from error
    except PolicyViolation as error:
        raise Forbidden(f"you may not invite into {acting.slug}") from error
    except ConstraintViolation as error:
        raise InvalidInput(str(error), field="role") from error


async def revoke(ctx: RequestContext, invitation_id: UUID) -> InvitationRecord:
    acting = ctx.require_role(ADMIN_ROLES)
    record = await _answer(ctx, invitations.revoke, invitation_id)
    if record is None:
        raise NotFound(f"no invitation {encode_global_id('Invitation', invitation_id)} you may revoke in {acting.slug}")
    return record


async def accept(ctx: RequestContext, invitation_id: UUID) -> MembershipRecord:
    user_id = ctx.require_principal().user_id
    record = await _answer(ctx, invitations.accept, invitation_id)
    if record is None:
        raise NotFound(f"no invitation {encode_global_id('Invitation', invitation_id)} for you")
    membership = await tenancy.membership(ctx.tx, record.tenant_id, user_id)
    if membership is None:  # accept_invitation creates it in the same statement
        raise RuntimeError(f"invitation {invitation_id} accepted without a membership")
    return membership


async def decline(ctx: RequestContext, invitation_id: UUID) -> InvitationRecord:
    ctx.require_principal()
    record = await _answer(ctx, invitations.decline, invitation_id)
    if record is None:
        raise NotFound(f"no invitation {encode_global_id('Invitation', invitation_id)} for you")
    return record


async def _answer(ctx: RequestContext, act: invitations.Answer, invitation_id: UUID) -> InvitationRecord | None:
    try:
        async with ctx.tx.savepoint():
            return await act(ctx.tx, invitation_id)
    except ConstraintViolation as error:  # no longer pending, lapsed, or already a member
        raise Conflict(quoting_global_id(str(error), "Invitation", invitation_id)) from error


async def mine(ctx: RequestContext, page: PageRequest) -> Page[InvitationRecord]:
    ctx.require_principal()
    return await invitations.my_pending_page(ctx.tx, page)


async def of_tenant(ctx: RequestContext, status: str | None, page: PageRequest) -> Page[InvitationRecord]:
    acting = ctx.require_role(ADMIN_ROLES)
    return await invitations.tenant_invitations_page(ctx.tx, acting.id, status, page)
