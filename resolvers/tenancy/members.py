"""Member management by a tenant's owners and admins (the policies enforce the same rules). People join only
by accepting an invitation (resolvers/tenancy/invitations.py)."""

from __future__ import annotations

from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation
from db.queries import tenancy
from db.records import MembershipRecord
from policies.principal import ADMIN_ROLES, Role, TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.global_ids import encode_global_id


def check_role_fits(ctx: RequestContext, role: Role) -> None:
    acting = ctx.require_role(ADMIN_ROLES)
    if role is Role.BILLING_ADMIN and acting.kind is not TenantKind.OPERATOR:
        raise InvalidInput("billing_admin is a role of operator tenants only", field="role")
    if role is Role.OWNER and acting.role is not Role.OWNER:
        raise Forbidden("only an owner can make another owner")


async def change_member_role(ctx: RequestContext, user_id: UUID, role: Role) -> MembershipRecord:
    check_role_fits(ctx, role)
    acting = ctx.require_tenant()
    async with ctx.tx.savepoint():
        current = await tenancy.membership(ctx.tx, acting.id, user_id)
        if current is None:
            raise NotFound(f"user {encode_global_id('User', user_id)} is not a member of {acting.slug}")
        if current.role is Role.OWNER and acting.role is not Role.OWNER:
            raise Forbidden("only an owner can change an owner's role")
        if current.role is Role.OWNER and role is not Role.OWNER and await tenancy.count_owners(ctx.tx, acting.id) == 1:
            raise Conflict(f"{acting.slug} would have no owner left")
        try:
            updated = await tenancy.set_membership_role(ctx.tx, acting.id, user_id, role.value)
        except (PolicyViolation, ConstraintViolation) as error:
            raise Forbidden(str(error)) from error
        if updated is None:
            raise Forbidden(f"you may not change this member of {acting.slug}")
        return updated


async def remove_member(ctx: RequestContext, user_id: UUID) -> UUID:
    acting = ctx.require_role(ADMIN_ROLES)
    async with ctx.tx.savepoint():
        current = await tenancy.membership(ctx.tx, acting.id, user_id)
        if current is None:
            raise NotFound(f"user {encode_global_id('User', user_id)} is not a member of {acting.slug}")
        if current.role is Role.OWNER:
            if acting.role is not Role.OWNER:
                raise Forbidden("only an owner can remove an owner")
            if await tenancy.count_owners(ctx.tx, acting.id) == 1:
                raise Conflict(f"{acting.slug} would have no owner left")
        if not await tenancy.delete_membership(ctx.tx, acting.id, user_id):
            raise Forbidden(f"you may not remove this member of {acting.slug}")
        return user_id
