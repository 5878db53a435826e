"""Sign-up: a startup or a VC created by its first owner, and an operator's customer created by a billing admin
who invites the customer's first owner. The database decides who may (policies/sql/0014_onboarding.sql); the
checks here only name the problem precisely."""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.queries import onboarding, tenancy
from db.records import InvitationRecord, TenantRecord
from policies.principal import Role, TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.emails import normalised_email
from resolvers.common.errors import Conflict, Forbidden, InvalidInput

# The same rule as app.check_new_slug.
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
_MAX_NAME = 200


@dataclass(frozen=True)
class CreatedCustomer:
    customer: TenantRecord
    invitation: InvitationRecord


def checked_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise InvalidInput("a slug has 3 to 40 lowercase letters, digits and inner hyphens", field="slug")
    return slug


def checked_name(name: str) -> str:
    stripped = name.strip()
    if not 1 <= len(stripped) <= _MAX_NAME:
        raise InvalidInput(f"a name has 1 to {_MAX_NAME} characters", field="name")
    return stripped


async def create_tenant(ctx: RequestContext, kind: TenantKind, slug: str, name: str) -> TenantRecord:
    """A startup or VC whose owner is the caller (a member of nothing yet is fine)."""
    ctx.require_principal()
    wanted, label = checked_slug(slug), checked_name(name)
    try:
        async with ctx.tx.savepoint():
            return await onboarding.create_tenant(ctx.tx, wanted, label, kind.value)
    except UniqueViolation as error:
        raise Conflict(f"the slug {wanted!r} is taken") from error
    except PolicyViolation as error:
        raise Forbidden(str(error)) from error


async def create_customer(ctx: RequestContext, slug: str, name: str, owner_email: str) -> CreatedCustomer:
    """A startup billed by the acting operator, with an owner invitation for `owner_email`."""
    ctx.require_role(frozenset({Role.BILLING_ADMIN}), TenantKind.OPERATOR)
    wanted, label, address = checked_slug(slug), checked_name(name), normalised_email(owner_email)
    try:
        async with ctx.tx.savepoint():
            invitation = await onboarding.create_customer(ctx.tx, wanted, label, address)
    except UniqueViolation as error:
        raise Conflict(f"the slug {wanted!r} is taken") from error
    except PolicyViolation as error:
        raise Forbidden(str(error)) from error
    except ConstraintViolation as error:
        raise InvalidInput(str(error), field=error.column or "slug") from error
    customers = await tenancy.tenants_by_ids(ctx.tx, [invitation.tenant_id])
    if not customers:  # the acting operator bills it, so its billing admin sees it
        raise RuntimeError(f"customer {wanted} created but not visible to its operator")
    return CreatedCustomer(customers[0], invitation)
