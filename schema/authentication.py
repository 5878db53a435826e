"""From credentials to a Principal: verify the token (no database work), then resolve the acting tenant
among the user's memberships in a transaction that carries only the user's context."""

from __future__ import annotations

from uuid import UUID

from db.queries import tenancy
from db.session import Database, DbContext
from policies.principal import ActingTenant, Principal, Role, TenantKind
from policies.tokens import Claims, InvalidToken, TokenVerifier


class AuthenticationFailed(Exception):
    """401: no usable credentials."""


class TenantNotAllowed(Exception):
    """403: the user is not a member of the tenant they asked to act for."""


def claims_from_header(authorization: str | None, verifier: TokenVerifier) -> Claims | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("use 'Authorization: Bearer <token>'")
    try:
        return verifier.verify(token.strip())
    except InvalidToken as error:
        raise AuthenticationFailed(f"invalid token: {error}") from error


async def resolve_principal(database: Database, user_id: UUID, tenant_slug: str | None) -> Principal:
    """The user's principal acting for `tenant_slug`, or for their only tenant when none is named."""
    async with database.transaction(DbContext(user_id=user_id)) as tx:
        user = await tenancy.user_by_id(tx, user_id)
        if user is None:
            raise AuthenticationFailed("unknown user")
        if tenant_slug is not None:
            found = await tenancy.membership_by_slug(tx, tenant_slug)
            if found is None:
                raise TenantNotAllowed(f"you are not a member of {tenant_slug!r}")
            tenant, role = found
        else:
            mine = await tenancy.memberships_of_user(tx)
            if len(mine) != 1:
                return Principal(user_id=user_id)
            tenant, role = mine[0]
    acting = ActingTenant(id=tenant.id, slug=tenant.slug, kind=TenantKind(tenant.kind), role=Role(role))
    return Principal(user_id=user_id, tenant=acting)
