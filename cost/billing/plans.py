"""Pricing plans: versioned, ordered rules that turn what AWS charged into what a customer pays.

A :class:`Rule` adjusts a *base* amount by a percentage: ``MARKUP 10`` bills base × 1.10, ``DISCOUNT 5``
base × 0.95. The base is per rule:

- ``ACTUAL`` — the operator's amortised net cost of the row (:func:`cost.billing.margins.operator_cost`):
  net unblended cost for ordinary rows, the CID amortised cost for RI/Savings Plan rows. This was chosen over
  plain net unblended so that RI/SP upfront and recurring fees are billed in the months the capacity is used,
  and so that a plan without rules under ``PASS_THROUGH`` bills exactly the operator's cost (margin 0), which is
  the CUR's own net unblended cost for every account without RI/SP rows.
- ``PUBLIC_ON_DEMAND`` — ``public_on_demand_cost`` (list price) where the CUR has one, else the actual cost;
  the operator's private discount lines (EDP, bundled, private rate …) are not billed under this base.

Among the rules matching a row the most specific wins (``SKU`` > ``USAGE_TYPE`` > ``SERVICE`` > ``GLOBAL``);
among equally specific ones, the first in order. A row no rule matches is billed at its actual cost.

Rows the plan's :class:`Exclusions` select (Marketplace, Support, Tax, credits, listed services) bypass the
rules and are billed at exactly their cost. RI/Savings Plan treatment (:class:`CommitmentTreatment`) is
described in :mod:`cost.billing.reservations`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from cost.billing.errors import InvalidPlanError
from cost.billing.money import EXACT, Rounding, as_decimal, check_period, minor_units


class Scope(enum.StrEnum):
    GLOBAL = "GLOBAL"
    SERVICE = "SERVICE"
    USAGE_TYPE = "USAGE_TYPE"
    SKU = "SKU"


SPECIFICITY: dict[Scope, int] = {Scope.GLOBAL: 0, Scope.SERVICE: 1, Scope.USAGE_TYPE: 2, Scope.SKU: 3}


class Adjustment(enum.StrEnum):
    MARKUP = "MARKUP"
    DISCOUNT = "DISCOUNT"


class Base(enum.StrEnum):  # the GraphQL enum RuleBase: its SDL lists the members in this order
    ACTUAL = "ACTUAL"
    PUBLIC_ON_DEMAND = "PUBLIC_ON_DEMAND"


class CommitmentTreatment(enum.StrEnum):
    PASS_THROUGH = "PASS_THROUGH"
    RETAIN = "RETAIN"
    ASSIGNED = "ASSIGNED"


# Above this a percent is a typo, not a price (the database refuses it too: policies/sql/0009).
MAX_PERCENT = Decimal(1000)


@dataclass(frozen=True)
class Rule:
    """``value`` is the ServiceName, usage type or SKU id the rule applies to (``None`` for ``GLOBAL``)."""

    scope: Scope
    adjustment: Adjustment
    percent: Decimal
    value: str | None = None
    base: Base = Base.ACTUAL

    def __post_init__(self) -> None:
        object.__setattr__(self, "scope", Scope(self.scope))
        object.__setattr__(self, "adjustment", Adjustment(self.adjustment))
        object.__setattr__(self, "base", Base(self.base))
        percent = as_decimal(self.percent, "rule percent")
        object.__setattr__(self, "percent", percent)
        if percent < 0:
            raise InvalidPlanError(f"rule percent {percent} is negative; use the other adjustment")
        if self.adjustment is Adjustment.DISCOUNT and percent > 100:
            raise InvalidPlanError(f"a discount of {percent} % would bill a negative amount")
        if percent > MAX_PERCENT:
            raise InvalidPlanError(f"a markup of {percent} % is above the {MAX_PERCENT} % limit")
        if (self.scope is Scope.GLOBAL) != (self.value is None):
            raise InvalidPlanError(
                f"a {self.scope} rule {'takes no' if self.scope is Scope.GLOBAL else 'needs a'} value"
            )

    @property
    def factor(self) -> Decimal:
        fraction = EXACT.divide(self.percent, Decimal(100))
        return EXACT.add(1, fraction) if self.adjustment is Adjustment.MARKUP else EXACT.subtract(1, fraction)

    @property
    def specificity(self) -> int:
        return SPECIFICITY[self.scope]

    def matches(self, service: str | None, usage_type: str | None, sku: str | None) -> bool:
        target = {Scope.GLOBAL: None, Scope.SERVICE: service, Scope.USAGE_TYPE: usage_type, Scope.SKU: sku}
        return self.scope is Scope.GLOBAL or (self.value is not None and target[self.scope] == self.value)


@dataclass(frozen=True)
class Exclusions:
    """Rows that pass through untouched (billed at exactly their cost). All on by default.

    - ``marketplace``: a ``BillingEntity``/``bill/BillingEntity``/``bill_billing_entity`` column equal to
      ``AWS Marketplace`` when the table has one, or a ServiceName containing ``Marketplace``;
    - ``support``: ServiceName starting with ``AWS Support``;
    - ``tax``: ChargeCategory ``Tax`` or line_item_type ``Tax``;
    - ``credits``: line_item_type ``Credit``/``Refund``, or ChargeCategory ``Credit`` on rows without a CUR
      line item type (FOCUS) — SavingsPlanNegation and discount lines are not credits;
    - ``services``: further ServiceNames, exactly.
    """

    marketplace: bool = True
    support: bool = True
    tax: bool = True
    credits: bool = True
    services: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", frozenset(self.services))


@dataclass(frozen=True)
class PlanVersion:
    """One version of a pricing plan, in force from ``valid_from`` (``YYYY-MM``) until the next version.

    ``assignments`` maps reservation and savings-plan ARNs to the tenant that gets their benefit; it is
    used only when ``commitments`` is ``ASSIGNED``.
    """

    id: str
    rules: tuple[Rule, ...] = ()
    exclusions: Exclusions = field(default_factory=Exclusions)
    commitments: CommitmentTreatment = CommitmentTreatment.PASS_THROUGH
    assignments: Mapping[str, str] = field(default_factory=dict)
    currency: str = "USD"
    rounding: Rounding = Rounding.HALF_UP
    valid_from: str | None = None
    # Derived from `rules` in __post_init__: not an argument, not part of equality or the repr.
    _index: dict[tuple[Scope, str | None], Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "commitments", CommitmentTreatment(self.commitments))
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        object.__setattr__(self, "assignments", MappingProxyType(dict(self.assignments)))
        minor_units(self.currency)
        if self.valid_from is not None:
            check_period(self.valid_from)
        if self.assignments and self.commitments is not CommitmentTreatment.ASSIGNED:
            raise InvalidPlanError("commitment assignments are given but the treatment is not ASSIGNED")
        index: dict[tuple[Scope, str | None], Rule] = {}
        for rule in self.rules:
            index.setdefault((rule.scope, rule.value), rule)  # first in order wins among equals
        object.__setattr__(self, "_index", index)

    def rule_for(self, service: str | None, usage_type: str | None, sku: str | None) -> Rule | None:
        """The most specific matching rule; the first in order among equally specific ones."""
        index = self._index
        for scope, value in ((Scope.SKU, sku), (Scope.USAGE_TYPE, usage_type), (Scope.SERVICE, service)):
            if value is not None and (scope, value) in index:
                return index[(scope, value)]
        return index.get((Scope.GLOBAL, None))

    def tenant_arns(self, tenant_id: str) -> frozenset[str]:
        return frozenset(arn for arn, tenant in self.assignments.items() if tenant == tenant_id)


@dataclass(frozen=True)
class PricingPlan:
    id: str
    name: str
    versions: tuple[PlanVersion, ...]

    def __post_init__(self) -> None:
        versions = tuple(self.versions)
        starts = [v.valid_from for v in versions]
        if any(s is None for s in starts):
            raise InvalidPlanError("every version of a plan needs valid_from")
        if len(set(starts)) != len(starts):
            raise InvalidPlanError("two versions of a plan start in the same period")
        object.__setattr__(self, "versions", tuple(sorted(versions, key=lambda v: v.valid_from or "")))

    def version_for(self, period: str) -> PlanVersion:
        check_period(period)
        found = [v for v in self.versions if (v.valid_from or "") <= period]
        if not found:
            raise InvalidPlanError(f"plan {self.id} has no version in force in {period}")
        return found[-1]


class ItemKind(enum.StrEnum):
    FEE = "FEE"
    CREDIT = "CREDIT"


class ItemAmount(enum.StrEnum):
    FLAT = "FLAT"
    PERCENT = "PERCENT"


class Recurrence(enum.StrEnum):
    ONE_OFF = "ONE_OFF"
    RECURRING = "RECURRING"


@dataclass(frozen=True)
class CustomItem:
    """A fee or credit added to an invoice.

    ``FLAT``: ``value`` is an amount in ``currency`` (default: the invoice currency, else converted at the
    period's rate). ``PERCENT``: ``value`` percent of the rated subtotal (usage, pass-through and correction
    lines, after rounding). ``ONE_OFF`` applies in ``period`` only; ``RECURRING`` from ``period`` through
    ``until`` (inclusive, open-ended when ``None``). ``value`` is positive; ``kind`` gives the sign.
    """

    description: str
    kind: ItemKind
    amount_type: ItemAmount
    value: Decimal
    period: str
    recurrence: Recurrence = Recurrence.ONE_OFF
    until: str | None = None
    currency: str | None = None
    tax_category: str | None = None  # None: the customer's category

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ItemKind(self.kind))
        object.__setattr__(self, "amount_type", ItemAmount(self.amount_type))
        object.__setattr__(self, "recurrence", Recurrence(self.recurrence))
        value = as_decimal(self.value, "custom item value")
        object.__setattr__(self, "value", value)
        if value < 0:
            raise InvalidPlanError("a custom item value is positive; choose FEE or CREDIT for the sign")
        if self.amount_type is ItemAmount.PERCENT and value > MAX_PERCENT:
            raise InvalidPlanError(f"a percentage item of {value} % is above the {MAX_PERCENT} % limit")
        check_period(self.period)
        if self.until is not None:
            check_period(self.until)
            if self.recurrence is Recurrence.ONE_OFF or self.until < self.period:
                raise InvalidPlanError("until is for recurring items and cannot precede period")
        if self.currency is not None:
            minor_units(self.currency)
            if self.amount_type is ItemAmount.PERCENT:
                raise InvalidPlanError("a percentage item has no currency")

    def applies_to(self, period: str) -> bool:
        if self.recurrence is Recurrence.ONE_OFF:
            return period == self.period
        return self.period <= period and (self.until is None or period <= self.until)


@dataclass(frozen=True)
class TaxRule:
    """A tenant's tax: ``rate_percent`` of the post-fee subtotal, rounded once."""

    rate_percent: Decimal
    name: str = "Tax"

    def __post_init__(self) -> None:
        rate = as_decimal(self.rate_percent, "tax rate")
        if rate < 0:
            raise InvalidPlanError("tax rate is negative")
        object.__setattr__(self, "rate_percent", rate)
