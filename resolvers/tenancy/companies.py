"""Company profiles: a startup edits its own; granted VCs read them (each read audited)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID

from db.errors import ConstraintViolation, PolicyViolation
from db.pagination import Page
from db.queries import companies
from db.records import CompanyProfileRecord
from policies.principal import ADMIN_ROLES, TenantKind
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Forbidden, InvalidInput
from resolvers.common.pages import PageRequest

STAGES = ("pre_seed", "seed", "series_a", "series_b", "series_c", "growth", "public")


async def visible_profiles(ctx: RequestContext, page: PageRequest) -> Page[CompanyProfileRecord]:
    ctx.require_tenant()
    result = await companies.visible_profiles_page(ctx.tx, page)
    await audit_granted_reads(ctx, [p.tenant_id for p in result.items], "company", "company_profiles")
    return result


async def profile_of(ctx: RequestContext, tenant_id: UUID) -> CompanyProfileRecord | None:
    profile = await ctx.loaders.profile.load(tenant_id)
    if profile is not None:
        await audit_granted_reads(ctx, [tenant_id], "company", "company_profiles")
    return profile


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    if "legal_name" in fields and not (fields["legal_name"] or "").strip():
        raise InvalidInput("legal name must not be empty", field="legalName")
    country = fields.get("country")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidInput(f"{country!r} is not an ISO 3166-1 alpha-2 code such as 'JP'", field="country")
    website = fields.get("website")
    if website is not None and not re.match(r"^https?://", website):
        raise InvalidInput("website must start with http:// or https://", field="website")
    founded: date | None = fields.get("founded_on")
    if founded is not None and founded > date.today():
        raise InvalidInput("foundedOn is in the future", field="foundedOn")
    stage = fields.get("stage")
    if stage is not None and stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)}", field="stage")
    return fields


async def update_profile(ctx: RequestContext, fields: dict[str, Any]) -> CompanyProfileRecord:
    acting = ctx.require_role(ADMIN_ROLES, TenantKind.STARTUP)
    values = _validated(fields)
    async with ctx.tx.savepoint():
        existing = await ctx.loaders.profile.load(acting.id)
        if existing is None and not values.get("legal_name"):
            raise InvalidInput("a new company profile needs a legal name", field="legalName")
        try:
            if existing is None:
                saved: CompanyProfileRecord | None = await companies.insert_profile(ctx.tx, acting.id, values)
            else:
                saved = await companies.update_profile(ctx.tx, acting.id, values)
        except PolicyViolation as error:
            raise Forbidden("you may not edit this company profile") from error
        except ConstraintViolation as error:
            raise InvalidInput(str(error)) from error
        if saved is None:
            raise Forbidden("you may not edit this company profile")
    ctx.loaders.profile.clear(acting.id)
    return saved
