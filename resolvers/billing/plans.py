"""Pricing plans of an operator's billing admins and their versions.

Plans are validated by the engine's own constructors before they are stored, so a stored definition always
loads. Writes go through the policies (the operator's billing admins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from cost.billing import (
    Exclusions,
    PlanVersion,
    Rule,
)
from cost.billing.definitions import plan_to_json
from cost.billing.errors import BillingError
from cost.billing.money import Rounding
from cost.billing.plans import Adjustment, Base, CommitmentTreatment, Scope
from db.billing_records import (
    PlanVersionRecord,
    PricingPlanRecord,
)
from db.errors import PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import billing
from resolvers.billing.access import billing_operator
from resolvers.billing.inputs import currency_code, engine_enum
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id


@dataclass(frozen=True)
class PlanWithVersions:
    plan: PricingPlanRecord
    versions: tuple[PlanVersionRecord, ...]


async def create_pricing_plan(
    ctx: RequestContext,
    name: str,
    valid_from: str,
    rules: Sequence[Rule],
    exclusions: Exclusions,
    commitments: str,
    currency: str,
    rounding: str,
) -> PlanWithVersions:
    """A new plan with its first version in force from `valid_from`."""
    operator = billing_operator(ctx)
    if not name.strip():
        raise InvalidInput("a plan needs a name", field="name")
    definition = _definition(valid_from, rules, exclusions, commitments, currency, rounding)
    async with ctx.tx.savepoint():
        try:
            plan = await billing.insert_plan(ctx.tx, operator, name.strip())
            version = await billing.insert_plan_version(ctx.tx, plan, valid_from, definition)
        except UniqueViolation as error:
            raise Conflict(f"your operator has a plan named {name!r} already") from error
        except PolicyViolation as error:
            raise Forbidden("only billing admins create pricing plans") from error
    return PlanWithVersions(plan, (version,))


async def add_plan_version(
    ctx: RequestContext,
    plan_id: UUID,
    valid_from: str,
    rules: Sequence[Rule],
    exclusions: Exclusions,
    commitments: str,
    currency: str,
    rounding: str,
) -> PlanWithVersions:
    """The plan's next version, in force from `valid_from` (earlier periods keep the version they had)."""
    billing_operator(ctx)
    plan = await billing.plan_by_id(ctx.tx, plan_id)
    if plan is None:
        raise NotFound(f"no pricing plan {encode_global_id('PricingPlan', plan_id)} is visible to you")
    definition = _definition(valid_from, rules, exclusions, commitments, currency, rounding)
    async with ctx.tx.savepoint():
        try:
            await billing.insert_plan_version(ctx.tx, plan, valid_from, definition)
        except UniqueViolation as error:
            raise Conflict(f"plan {plan.name!r} has a version from {valid_from} already") from error
    return PlanWithVersions(plan, tuple(await billing.plan_versions(ctx.tx, [plan.id])))


def _definition(
    valid_from: str,
    rules: Sequence[Rule],
    exclusions: Exclusions,
    commitments: str,
    currency: str,
    rounding: str,
) -> dict[str, Any]:
    period_of(valid_from, "validFrom")
    try:
        version = PlanVersion(
            id="new",
            rules=tuple(rules),
            exclusions=exclusions,
            commitments=engine_enum(CommitmentTreatment, commitments, "commitments"),
            currency=currency_code(currency),
            rounding=engine_enum(Rounding, rounding, "rounding"),
            valid_from=valid_from,
        )
    except (BillingError, ValueError) as error:
        raise InvalidInput(f"invalid plan: {error}", field="rules") from error
    return plan_to_json(version)


def make_rule(scope: str, adjustment: str, percent: Decimal, value: str | None, base: str) -> Rule:
    try:
        return Rule(
            scope=engine_enum(Scope, scope, "rules"),
            adjustment=engine_enum(Adjustment, adjustment, "rules"),
            percent=percent,
            value=value,
            base=engine_enum(Base, base, "rules"),
        )
    except (BillingError, ValueError) as error:
        raise InvalidInput(f"invalid rule: {error}", field="rules") from error


async def pricing_plans(ctx: RequestContext, page: PageRequest) -> Page[PlanWithVersions]:
    operator = billing_operator(ctx)
    found = await billing.plans_page(ctx.tx, operator, page)
    versions = await billing.plan_versions(ctx.tx, [p.id for p in found.items])
    return found.with_items([PlanWithVersions(p, tuple(v for v in versions if v.plan_id == p.id)) for p in found.items])
