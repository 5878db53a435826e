"""From a request's credentials to what `open_request` resolves (resolvers/common/request.py): the bearer token
verified (no database work). The helpers below resolve a principal on its own, for a caller that keeps one
beyond a request (a WebSocket connection), and provision the demo's users."""

from __future__ import annotations

from uuid import UUID

from db.session import NOBODY, Database
from policies.principal import Principal
from policies.tokens import Claims, InvalidToken, TokenVerifier
from resolvers.common.principals import AuthenticationFailed, Credentials, TenantNotAllowed, provision
from resolvers.common.request import RequestRuntime, open_request

__all__ = ["AuthenticationFailed", "TenantNotAllowed", "authenticate", "claims_from_header"]


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
    return await _resolved(database, Credentials(claims, tenant_slug))


async def provision_user(database: Database, claims: Claims) -> UUID:
    """The id of the token's user, created if new (the demo's users)."""
    async with database.transaction(NOBODY) as tx:
        return await provision(tx, claims)


async def _resolved(database: Database, identity: Credentials) -> Principal:
    async with open_request(RequestRuntime(database, max_page_size=1), identity, request_id="principal") as ctx:
        return ctx.require_principal()
