"""Plan versions and cost categories as JSON documents (what the database keeps in ``definition`` columns).

Decimals travel as strings, never as JSON numbers (a float on the way would lose digits). Reading a document
back goes through the engine's own constructors, so a stored definition is validated exactly like a new one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cost.billing.allocation import CategoryRule, CostCategories, Match, SharedRule
from cost.billing.errors import ConfigurationError
from cost.billing.money import Rounding
from cost.billing.plans import Exclusions, PlanVersion, Rule

__all__ = ["categories_from_json", "categories_to_json", "plan_from_json", "plan_to_json"]


def plan_to_json(plan: PlanVersion) -> dict[str, Any]:
    """The version's definition; ``id`` and ``valid_from`` are columns of their own, not part of it."""
    return {
        "rules": [
            {
                "scope": str(r.scope),
                "adjustment": str(r.adjustment),
                "percent": str(r.percent),
                "value": r.value,
                "base": str(r.base),
            }
            for r in plan.rules
        ],
        "exclusions": {
            "marketplace": plan.exclusions.marketplace,
            "support": plan.exclusions.support,
            "tax": plan.exclusions.tax,
            "credits": plan.exclusions.credits,
            "services": sorted(plan.exclusions.services),
        },
        "commitments": str(plan.commitments),
        "assignments": dict(sorted(plan.assignments.items())),
        "currency": plan.currency,
        "rounding": plan.rounding.name,
    }


def plan_from_json(document: dict[str, Any], *, id: str, valid_from: str | None = None) -> PlanVersion:
    try:
        exclusions = document.get("exclusions") or {}
        return PlanVersion(
            id=id,
            rules=tuple(
                Rule(
                    scope=r["scope"],
                    adjustment=r["adjustment"],
                    percent=Decimal(str(r["percent"])),
                    value=r.get("value"),
                    base=r.get("base", "ACTUAL"),
                )
                for r in document.get("rules", ())
            ),
            exclusions=Exclusions(
                marketplace=bool(exclusions.get("marketplace", True)),
                support=bool(exclusions.get("support", True)),
                tax=bool(exclusions.get("tax", True)),
                credits=bool(exclusions.get("credits", True)),
                services=frozenset(exclusions.get("services", ())),
            ),
            commitments=document.get("commitments", "PASS_THROUGH"),
            assignments=dict(document.get("assignments") or {}),
            currency=document.get("currency", "USD"),
            rounding=_rounding(document.get("rounding", "HALF_UP")),
            valid_from=valid_from,
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ConfigurationError):
            raise
        raise ConfigurationError(f"plan definition is malformed: {error}") from error


def _rounding(name: str) -> Rounding:
    try:
        return Rounding[name]
    except KeyError:
        return Rounding(name)


def _match_to_json(match: Match) -> dict[str, Any]:
    return {
        "tags": {k: sorted(v) for k, v in sorted(match.tags.items())},
        "accounts": sorted(match.accounts),
        "services": sorted(match.services),
    }


def _match_from_json(document: dict[str, Any] | None) -> Match:
    document = document or {}
    return Match(
        tags={k: frozenset(v) for k, v in (document.get("tags") or {}).items()},
        accounts=frozenset(document.get("accounts") or ()),
        services=frozenset(document.get("services") or ()),
    )


def categories_to_json(categories: CostCategories) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    for rule in categories.rules:
        if isinstance(rule, SharedRule):
            rules.append(
                {
                    "type": "shared",
                    "name": rule.name,
                    "targets": list(rule.targets),
                    "method": str(rule.method),
                    "match": _match_to_json(rule.match),
                    "shares": None if rule.shares is None else {k: str(v) for k, v in rule.shares.items()},
                }
            )
        else:
            rules.append({"type": "category", "category": rule.category, "match": _match_to_json(rule.match)})
    return {"rules": rules, "default": categories.default}


def categories_from_json(document: dict[str, Any]) -> CostCategories:
    try:
        rules: list[CategoryRule | SharedRule] = []
        for r in document.get("rules", ()):
            if r.get("type") == "shared":
                shares = r.get("shares")
                rules.append(
                    SharedRule(
                        name=r["name"],
                        targets=tuple(r["targets"]),
                        method=r.get("method", "EVEN"),
                        match=_match_from_json(r.get("match")),
                        shares=None if shares is None else {k: Decimal(str(v)) for k, v in shares.items()},
                    )
                )
            else:
                rules.append(CategoryRule(category=r["category"], match=_match_from_json(r.get("match"))))
        return CostCategories(rules=tuple(rules), default=document.get("default", "Uncategorised"))
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ConfigurationError):
            raise
        raise ConfigurationError(f"cost category definition is malformed: {error}") from error
