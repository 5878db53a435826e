"""Tax on an invoice: rates by category and period, the provider's own tax lines, rounding per jurisdiction.

A :class:`TaxPolicy` says, for one customer and period:

- which rate applies to each tax category (``standard``, ``reduced``, ``exempt``…): the :class:`TaxRate` of
  the category with the latest ``valid_from`` not after the period;
- what happens to the provider's own tax rows (AWS ``Tax`` line items the reseller paid), see
  :class:`ProviderTax`: replaced by the operator's tax (the default: a reseller charges its own tax on its
  own supply), passed through untaxed on a line of its own, or billed as a cost and taxed like usage.
  Never both: passed-through tax is not in any taxable base, so there is no tax on tax;
- how tax is rounded (:class:`TaxRounding`): ``PER_RATE`` rounds once per invoice and rate on the sum of
  the rounded lines of that rate (Japan's qualified-invoice rule, and what an EU VAT invoice shows per rate);
  ``PER_LINE`` rounds each line's tax and sums them (US sales-tax practice). Japan (``JP``) admits only
  ``PER_RATE``;
- reverse charge: cross-border B2B supplies carry no tax; the invoice says who accounts for it.

The tax of each rate is rounded in the invoice currency with the plan's rounding mode.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from cost.billing.errors import InvalidPlanError
from cost.billing.money import EXACT, ZERO, Rounding, as_decimal, check_period, percent_of, round_money

DEFAULT_CATEGORY = "standard"
_CATEGORY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_REGISTRATION = re.compile(r"^T[0-9]{13}$")
DEFAULT_REVERSE_CHARGE_NOTE = "Reverse charge: the recipient accounts for the VAT (Directive 2006/112/EC, art. 196)."


class ProviderTax(enum.StrEnum):
    REPLACE = "REPLACE"
    PASS_THROUGH = "PASS_THROUGH"
    BILL_AS_COST = "BILL_AS_COST"


class TaxRounding(enum.StrEnum):
    PER_RATE = "PER_RATE"
    PER_LINE = "PER_LINE"


# The rule each jurisdiction requires; others may choose (PER_RATE unless configured).
REQUIRED_ROUNDING: dict[str, TaxRounding] = {"JP": TaxRounding.PER_RATE}


def check_category(category: str) -> str:
    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise InvalidPlanError(f"tax category {category!r} is not a lower-case identifier")
    return category


def valid_registration_number(value: str) -> bool:
    """A Japanese qualified-invoice issuer number: ``T`` and 13 digits whose first is the corporate-number
    check digit, 9 − (Σ digit × (1 at odd, 2 at even positions from the right) over the other 12) mod 9."""
    if not _REGISTRATION.match(value):
        return False
    body = value[2:]
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(body)))
    return int(value[1]) == 9 - total % 9


@dataclass(frozen=True)
class TaxRate:
    category: str
    rate_percent: Decimal
    name: str = "Tax"
    valid_from: str = "1970-01"
    reduced: bool = False

    def __post_init__(self) -> None:
        check_category(self.category)
        check_period(self.valid_from)
        rate = as_decimal(self.rate_percent, "tax rate")
        if not ZERO <= rate <= 100:
            raise InvalidPlanError(f"tax rate {rate} is not a percentage between 0 and 100")
        object.__setattr__(self, "rate_percent", rate)
        if not 1 <= len(self.name) <= 100:
            raise InvalidPlanError("a tax rate needs a name of 1 to 100 characters")


@dataclass(frozen=True)
class TaxPolicy:
    rates: tuple[TaxRate, ...] = ()
    default_category: str = DEFAULT_CATEGORY
    provider_tax: ProviderTax = ProviderTax.REPLACE
    rounding: TaxRounding = TaxRounding.PER_RATE
    jurisdiction: str = ""
    reverse_charge: bool = False
    reverse_charge_note: str = ""

    def __post_init__(self) -> None:
        check_category(self.default_category)
        object.__setattr__(self, "provider_tax", ProviderTax(self.provider_tax))
        object.__setattr__(self, "rounding", TaxRounding(self.rounding))
        required = REQUIRED_ROUNDING.get(self.jurisdiction)
        if required is not None and self.rounding is not required:
            raise InvalidPlanError(f"{self.jurisdiction} requires tax rounded {required}, not {self.rounding}")

    def rate_for(self, category: str, period: str) -> TaxRate | None:
        """The category's rate in force in ``period`` (None: the category is not taxed)."""
        in_force = [r for r in self.rates if r.category == category and r.valid_from <= period]
        return max(in_force, key=lambda r: r.valid_from) if in_force else None


@dataclass(frozen=True)
class TaxBreakdown:
    """One rate's taxable amount and tax on the invoice (Japan: 「10%対象」 and its 消費税)."""

    category: str
    name: str
    rate_percent: Decimal
    reduced: bool
    taxable: Decimal
    tax: Decimal


def tax_by_rate(
    taxable: Iterable[tuple[Decimal, TaxRate]], policy: TaxPolicy, currency: str, mode: Rounding
) -> list[TaxBreakdown]:
    """``taxable``: the rounded amount of every taxable line with its rate → one breakdown per rate."""
    by_rate: dict[tuple[str, Decimal, str, bool], list[Decimal]] = {}
    for amount, rate in taxable:
        by_rate.setdefault((rate.category, rate.rate_percent, rate.name, rate.reduced), []).append(amount)
    out = []
    for (category, percent, name, reduced), amounts in sorted(by_rate.items(), key=lambda kv: (-kv[0][1], kv[0][0])):
        base = sum(amounts, ZERO)
        if policy.reverse_charge:
            tax = ZERO
        elif policy.rounding is TaxRounding.PER_LINE:
            tax = sum((round_money(percent_of(a, percent), currency, mode) for a in amounts), ZERO)
        else:
            tax = round_money(percent_of(base, percent), currency, mode)
        out.append(TaxBreakdown(category, name, percent, reduced, base, EXACT.plus(tax)))
    return out


def single_rate(rate_percent: Decimal, name: str = "Tax") -> Sequence[TaxRate]:
    return (TaxRate(DEFAULT_CATEGORY, rate_percent, name),)
