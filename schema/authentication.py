"""From credentials to a Principal: verify the token (no database work), find the token's user (creating it on
its first request), then resolve the acting tenant among the user's memberships in a transaction that carries
only the user's context."""

from __future__ import annotations

from uuid import UUID

from db.queries import onboarding, tenancy
from db.session import Database, DbContext
from policies.principal import ActingTenant, Principal, Role, TenantKind
from policies.tokens import Claims, InvalidToken, TokenVerifier
from resolvers.errors import InvalidInput
from resolvers.invitations import normalised_email


class AuthenticationFailed(Exception):
    """401: no usable credentials."""


# Provisioning runs before anyone is known: a context that matches no user (every policy sees nothing).
_NOBODY = DbContext(user_id=UUID(int=0))


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


async def authenticate(database: Database, claims: Claims, tenant_slug: str | None) -> Principal:
    """The principal of a verified token; its first request creates the user (just in time)."""
    return await resolve_principal(database, await provision_user(database, claims), tenant_slug)


async def provision_user(database: Database, claims: Claims) -> UUID:
    """The id of the token's user: one statement when the user exists. A new user gets the token's address only
    if the token verified it; an address already used by another identity is refused, never merged."""
    try:
        email = None if claims.email is None else normalised_email(claims.email)
    except InvalidInput:
        email = None  # not an address the users table can hold: as good as unverified
    async with database.transaction(_NOBODY) as tx:
        try:
            return await onboarding.provision_user(tx, claims.issuer, claims.subject, email, claims.name)
        except onboarding.IdentityRefused as error:
            raise AuthenticationFailed(str(error)) from error


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
