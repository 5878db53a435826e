"""Value rules of ledger items: every number finite and within numeric(38, 18), quantities positive, counts
and prices not negative. The database re-checks the same rules on `captable_objects` (policies/sql/0009)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from decimal import Decimal

from captable.events import (
    AuthorizedSharesAdjustment,
    ConversionRatioAdjustment,
    ConvertibleTerms,
    Issuance,
    Issuer,
    Money,
    PoolAdjustment,
    SecurityEvent,
    StockClass,
    StockClassSplit,
    StockPlan,
    object_type,
)
from captable.problems import Problem

MAX_INTEGER_DIGITS = 20
MAX_FRACTION_DIGITS = 18

_POSITIVE = "must be greater than 0"
_NOT_NEGATIVE = "must not be negative"

# (item type, attribute) → (the OCF field name clients see, rule)
_RULES: dict[tuple[type, str], tuple[str, str]] = {
    (Issuer, "authorized_shares"): ("initial_shares_authorized", _NOT_NEGATIVE),
    (StockClass, "authorized_shares"): ("initial_shares_authorized", _NOT_NEGATIVE),
    (StockClass, "votes_per_share"): ("votes_per_share", _NOT_NEGATIVE),
    (StockClass, "seniority"): ("seniority", _NOT_NEGATIVE),
    (StockClass, "liquidation_preference_multiple"): ("liquidation_preference_multiple", _NOT_NEGATIVE),
    (StockClass, "participation_cap_multiple"): ("participation_cap_multiple", _NOT_NEGATIVE),
    (StockClass, "conversion_ratio"): ("conversion_ratio", _POSITIVE),
    (StockPlan, "reserved_shares"): ("initial_shares_reserved", _NOT_NEGATIVE),
    (Issuance, "quantity"): ("quantity", _POSITIVE),
    (SecurityEvent, "quantity"): ("quantity", _POSITIVE),
    (StockClassSplit, "numerator"): ("split_ratio.numerator", _POSITIVE),
    (StockClassSplit, "denominator"): ("split_ratio.denominator", _POSITIVE),
    (AuthorizedSharesAdjustment, "new_shares_authorized"): ("new_shares_authorized", _NOT_NEGATIVE),
    (ConversionRatioAdjustment, "new_ratio"): ("new_ratio_conversion_mechanism", _POSITIVE),
    (PoolAdjustment, "shares_reserved"): ("shares_reserved", _NOT_NEGATIVE),
    (ConvertibleTerms, "valuation_cap"): ("conversion_triggers.valuation_cap", _POSITIVE),
}
_FRACTIONS = {"discount": "conversion_triggers.discount", "interest_rate": "interest_rates.rate"}


def out_of_bounds(value: Decimal) -> str | None:
    """Why `value` does not fit numeric(38, 18), or None."""
    if not value.is_finite():
        return "must be a finite number"
    if value != 0 and value.adjusted() >= MAX_INTEGER_DIGITS:
        return f"has more than {MAX_INTEGER_DIGITS} digits before the decimal point"
    exponent = value.as_tuple().exponent
    fraction_digits = -exponent if isinstance(exponent, int) else 0
    if fraction_digits > MAX_FRACTION_DIGITS and value != value.quantize(Decimal(1).scaleb(-MAX_FRACTION_DIGITS)):
        return f"has more than {MAX_FRACTION_DIGITS} digits after the decimal point"
    return None


def value_problems(items: Iterable[object]) -> Iterator[Problem]:
    for item in items:
        item_id, kind = str(getattr(item, "id", "?")), object_type(item)  # type: ignore[arg-type]
        yield from _check(item, item_id, kind, "")


def _check(node: object, item_id: str, kind: str, prefix: str) -> Iterator[Problem]:
    if not dataclasses.is_dataclass(node):
        return
    for spec in dataclasses.fields(node):
        value = getattr(node, spec.name)
        name, rule = _RULES.get((type(node), spec.name), (prefix + spec.name, None))
        if isinstance(value, Decimal):
            reason = out_of_bounds(value)
            if reason is None and rule is _POSITIVE and value <= 0:
                reason = _POSITIVE
            if reason is None and rule is _NOT_NEGATIVE and value < 0:
                reason = _NOT_NEGATIVE
            if reason is None and isinstance(node, ConvertibleTerms) and spec.name in _FRACTIONS:
                name = _FRACTIONS[spec.name]
                if not Decimal(0) <= value < Decimal(1):
                    reason = "is a fraction from 0 (inclusive) to 1 (exclusive)"
            if reason is not None:
                yield Problem(item_id, kind, name, f"{value} {reason}")
        elif isinstance(value, Money):
            reason = out_of_bounds(value.amount) or (_NOT_NEGATIVE if value.amount < 0 else None)
            if reason is not None:
                yield Problem(item_id, kind, f"{prefix}{spec.name}.amount", f"{value.amount} {reason}")
        elif isinstance(value, tuple):
            for entry in value:
                if isinstance(entry, Decimal) and (reason := out_of_bounds(entry)):
                    yield Problem(item_id, kind, prefix + spec.name, f"{entry} {reason}")
                elif dataclasses.is_dataclass(entry):
                    yield from _check(entry, item_id, kind, f"{prefix}{spec.name}.")
        elif dataclasses.is_dataclass(value):
            yield from _check(value, item_id, kind, f"{prefix}{spec.name}.")
