"""Portfolio grants: a VC admin requests, the startup's owner or admin approves per scope or revokes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import grants
from db.records import GrantRecord
from policies.principal import ADMIN_ROLES, TenantKind
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id, quoting_global_id


class Scope(StrEnum):
    COMPANY = "company"
    CAPTABLE = "captable"
    FINANCIALS = "financials"
    COSTS = "costs"
    INVOICES = "invoices"


def _scopes(scopes: Sequence[Scope]) -> list[str]:
    if not scopes:
        raise InvalidInput("name at least one scope", field="scopes")
    return sorted({s.value for s in scopes})


async def request_access(ctx: RequestContext, startup_slug: str, scopes: Sequence[Scope]) -> GrantRecord:
    acting = ctx.require_role(ADMIN_ROLES, TenantKind.VC)
    wanted = _scopes(scopes)
    async with ctx.tx.savepoint():
        startup_id = await grants.startup_id_by_slug(ctx.tx, startup_slug)
        if startup_id is None:
            raise NotFound(f"no startup {startup_slug!r}")
        try:
            return await grants.request_grant(ctx.tx, startup_id, acting.id, wanted)
        except UniqueViolation as error:
            raise Conflict(f"{acting.slug} already has an open request or grant for {startup_slug}") from error
        except PolicyViolation as error:
            raise Forbidden("you may not request access for this tenant") from error


async def _startup_grant(ctx: RequestContext, grant_id: UUID) -> GrantRecord:
    acting = ctx.require_role(ADMIN_ROLES, TenantKind.STARTUP)
    grant = await grants.grant_by_id(ctx.tx, grant_id)
    if grant is None or grant.tenant_id != acting.id:
        raise NotFound(f"no grant {encode_global_id('PortfolioGrant', grant_id)} of {acting.slug}")
    return grant


async def approve_access(
    ctx: RequestContext, grant_id: UUID, scopes: Sequence[Scope], expires_at: datetime | None
) -> GrantRecord:
    approved = _scopes(scopes)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidInput("expiresAt must be in the future", field="expiresAt")
    async with ctx.tx.savepoint():
        grant = await _startup_grant(ctx, grant_id)
        if grant.status == "revoked":
            raise Conflict("this grant was revoked; the VC must request access again")
        beyond = sorted(set(approved) - set(grant.requested_scopes))
        if beyond:
            raise InvalidInput(f"scopes not requested: {', '.join(beyond)}", field="scopes")
        return await _decide(ctx, grant, "active", approved, expires_at)


async def revoke_access(ctx: RequestContext, grant_id: UUID) -> GrantRecord:
    async with ctx.tx.savepoint():
        grant = await _startup_grant(ctx, grant_id)
        if grant.status == "revoked":
            raise Conflict("this grant is already revoked")
        return await _decide(ctx, grant, "revoked", grant.scopes, grant.expires_at)


async def _decide(
    ctx: RequestContext, grant: GrantRecord, status: str, scopes: Sequence[str], expires_at: datetime | None
) -> GrantRecord:
    try:
        updated = await grants.decide_grant(ctx.tx, grant, status=status, scopes=scopes, expires_at=expires_at)
    except PolicyViolation as error:
        raise Forbidden("you may not decide this grant") from error
    except ConstraintViolation as error:
        raise Conflict(quoting_global_id(str(error), "PortfolioGrant", grant.id)) from error
    if updated is None:
        raise Forbidden("you may not decide this grant")
    return updated


async def grants_page(ctx: RequestContext, status: str | None, page: PageRequest) -> Page[GrantRecord]:
    acting = ctx.require_tenant()
    return await grants.grants_page(ctx.tx, acting.id, status, page)
