"""Who a request runs for, and how that becomes a Principal inside the request's own transaction.

A request names its user one of three ways: verified token `Credentials` (HTTP, WebSocket), a `Member`
(a user id and the tenant it acts for: CLI commands and jobs), or an already resolved `Principal` (the
polls of a subscription resolved at subscribe time). Resolution narrows the transaction's context step by
step (db/session.py `RequestTransaction.narrow`): nobody while the token's user is provisioned, then the
user alone while their membership is read, then the user acting for the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from db.queries import onboarding, tenancy
from db.queries.onboarding import OpenedRequest
from db.records import TenantRecord
from db.session import DbContext, RequestTransaction, TokenUser
from policies.principal import ActingTenant, Principal, Role
from policies.tokens import Claims
from resolvers.common.emails import normalised_email
from resolvers.common.errors import InvalidInput


class AuthenticationFailed(Exception):
    """401: no usable credentials."""


class TenantNotAllowed(Exception):
    """403: the user is not a member of the tenant they asked to act for."""


@dataclass(frozen=True)
class Credentials:
    """A verified token and the tenant it asks to act for (header or claim); None: the user's only tenant."""

    claims: Claims
    tenant_slug: str | None = None


@dataclass(frozen=True)
class Member:
    """A known user acting for a tenant named by slug or id (None: their only tenant)."""

    user_id: UUID
    tenant: str | UUID | None = None


Identity = Credentials | Member | Principal


async def open_for_token(tx: RequestTransaction, credentials: Credentials) -> tuple[Principal, OpenedRequest]:
    """The token's principal, resolved and bound in the transaction's first round trip (provisioned as
    :func:`provision` does, the tenant as :func:`resolve` does for a slug or the user's only tenant), with the
    user's and the tenant's rows read there."""
    user = TokenUser(
        issuer=credentials.claims.issuer,
        subject=credentials.claims.subject,
        trusted_email=_trusted_email(credentials.claims),
        name=credentials.claims.name,
        tenant_slug=credentials.tenant_slug,
    )
    try:
        opened = await onboarding.open_request(tx, user)
    except onboarding.IdentityRefused as error:
        raise AuthenticationFailed(str(error)) from error
    except onboarding.NotAMember as error:
        raise TenantNotAllowed(str(error)) from error
    if opened.tenant is None or opened.role is None:
        return Principal(user_id=opened.user.id), opened
    tenant = opened.tenant
    acting = ActingTenant(id=tenant.id, slug=tenant.slug, kind=tenant.kind, role=opened.role)
    return Principal(user_id=opened.user.id, tenant=acting), opened


def _trusted_email(claims: Claims) -> str | None:
    try:
        return None if claims.email is None else normalised_email(claims.email)
    except InvalidInput:
        return None  # not an address the users table can hold: as good as unverified


async def provision(tx: RequestTransaction, claims: Claims) -> UUID:
    """The id of the token's user, created on its first request. A new user gets the token's address only if
    the token verified it; an address already used by another identity is refused, never merged."""
    try:
        return await onboarding.provision_user(tx, claims.issuer, claims.subject, _trusted_email(claims), claims.name)
    except onboarding.IdentityRefused as error:
        raise AuthenticationFailed(str(error)) from error


async def resolve(tx: RequestTransaction, user_id: UUID, tenant: str | UUID | None) -> Principal:
    """The user's principal acting for `tenant`, or for their only tenant when none is named. The
    transaction's context must be the user alone: the memberships read are the ones the policies show them."""
    if await tenancy.user_by_id(tx, user_id) is None:
        raise AuthenticationFailed("unknown user")
    found: tuple[TenantRecord, str] | None
    if isinstance(tenant, str):
        found = await tenancy.membership_by_slug(tx, tenant)
        if found is None:
            raise TenantNotAllowed(f"you are not a member of {tenant!r}")
    else:
        mine = await tenancy.memberships_of_user(tx)
        if tenant is not None:
            found = next(((t, role) for t, role in mine if t.id == tenant), None)
            if found is None:
                raise TenantNotAllowed(f"you are not a member of tenant {tenant}")
        elif len(mine) != 1:
            return Principal(user_id=user_id)
        else:
            found = mine[0]
    record, role = found
    acting = ActingTenant(id=record.id, slug=record.slug, kind=record.kind, role=Role(role))
    return Principal(user_id=user_id, tenant=acting)


def db_context(principal: Principal) -> DbContext:
    return DbContext(user_id=principal.user_id, tenant_id=principal.tenant.id if principal.tenant else None)
