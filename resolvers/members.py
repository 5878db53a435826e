"""Member management by a tenant's owners and admins (the policies enforce the same rules)."""

from __future__ import annotations

import re
from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.queries import tenancy
from db.records import MembershipRecord
from policies.principal import ADMIN_ROLES, Role, TenantKind
from resolvers.context import RequestContext
from resolvers.errors import Conflict, Forbidden, InvalidInput, NotFound

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_role_fits(ctx: RequestContext, role: Role) -> None:
    acting = ctx.require_role(ADMIN_ROLES)
    if role is Role.BILLING_ADMIN and acting.kind is not TenantKind.OPERATOR:
        raise InvalidInput("billing_admin is a role of operator tenants only", field="role")
    if role is Role.OWNER and acting.role is not Role.OWNER:
        raise Forbidden("only an owner can make another owner")


async def add_member(ctx: RequestContext, email: str, role: Role, display_name: str) -> MembershipRecord:
    _check_role_fits(ctx, role)
    acting = ctx.require_tenant()
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email")
    async with ctx.tx.savepoint():
        user_id = await tenancy.user_id_by_email(ctx.tx, email)
        if user_id is None:
            user_id = await tenancy.create_user(ctx.tx, email, display_name)
        try:
            return await tenancy.add_membership(ctx.tx, acting.id, user_id, role.value)
        except UniqueViolation as error:
            raise Conflict(f"{email} is already a member of {acting.slug}") from error
        except PolicyViolation as error:
            raise Forbidden(f"you may not add members to {acting.slug}") from error


async def change_member_role(ctx: RequestContext, user_id: UUID, role: Role) -> MembershipRecord:
    _check_role_fits(ctx, role)
    acting = ctx.require_tenant()
    async with ctx.tx.savepoint():
        current = await tenancy.membership(ctx.tx, acting.id, user_id)
        if current is None:
            raise NotFound(f"user {user_id} is not a member of {acting.slug}")
        if current.role == Role.OWNER and acting.role is not Role.OWNER:
            raise Forbidden("only an owner can change an owner's role")
        if current.role == Role.OWNER and role is not Role.OWNER and await tenancy.count_owners(ctx.tx, acting.id) == 1:
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
            raise NotFound(f"user {user_id} is not a member of {acting.slug}")
        if current.role == Role.OWNER:
            if acting.role is not Role.OWNER:
                raise Forbidden("only an owner can remove an owner")
            if await tenancy.count_owners(ctx.tx, acting.id) == 1:
                raise Conflict(f"{acting.slug} would have no owner left")
        if not await tenancy.delete_membership(ctx.tx, acting.id, user_id):
            raise Forbidden(f"you may not remove this member of {acting.slug}")
        return user_id
