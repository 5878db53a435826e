"""Exact money arithmetic: ISO 4217 exponents, rounding to the invoice currency, monthly exchange rates and
exact splitting.

Arithmetic runs in :data:`EXACT` (100 significant digits: a 38-digit CUR amount times a percentage or a rate
never loses a digit), and an amount is rounded only where an invoice shows it, once, with the plan's
:class:`Rounding` mode. The default is ``ROUND_HALF_UP`` (commercial rounding, what customers and most tax
authorities expect on an invoice: 0.125 → 0.13); ``HALF_EVEN`` is available per plan version.

:func:`split_exact` divides an amount into parts proportional to weights, in multiples of a quantum, with the
largest-remainder method: every part gets the floor of its exact share, and the quanta left over go one each
to the parts with the largest fractional remainders, ties to the earlier part. The parts sum to the amount
exactly and the result depends only on the inputs and their order.
"""

from __future__ import annotations

import decimal
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from cost.billing.errors import ConfigurationError, MissingExchangeRateError, UnknownCurrencyError

EXACT = decimal.Context(
    prec=100,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
ZERO = Decimal(0)
# The scale of cost.columns.MONEY: the smallest amount a normalised row can hold.
ROW_QUANTUM = Decimal(1).scaleb(-18)

# ISO 4217 minor units of the currencies a reseller is likely to invoice in.
# fmt: off
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "SGD", "HKD", "CNY", "INR", "BRL", "MXN", "ZAR", "SEK",
         "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "ILS", "TRY", "TWD", "THB", "MYR", "PHP", "IDR", "SAR", "AED",
         "QAR", "EGP", "NGN", "KES", "ARS", "COP", "PEN", "UAH"),
        2,
    ),
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "PYG", "UGX", "XOF", "XAF"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD"), 3),
}
# fmt: on
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Rounding(enum.StrEnum):
    HALF_UP = decimal.ROUND_HALF_UP
    HALF_EVEN = decimal.ROUND_HALF_EVEN


def check_period(period: str) -> str:
    """A billing period is ``YYYY-MM``."""
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ConfigurationError(f"period {period!r} is not YYYY-MM")
    return period


def as_decimal(value: object, what: str) -> Decimal:
    """Accept Decimal, int or numeric text; refuse float (binary) and non-finite values."""
    if isinstance(value, (bool, float)):
        raise ConfigurationError(f"{what} must be a Decimal, not {type(value).__name__}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except decimal.InvalidOperation:
        raise ConfigurationError(f"{what} {value!r} is not a number") from None
    if not result.is_finite():
        raise ConfigurationError(f"{what} {value!r} is not finite")
    return result


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrencyError(currency) from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round to the currency's minor unit (JPY: whole yen, USD: cents)."""
    rounded = amount.quantize(quantum(currency), rounding=str(rounding), context=EXACT)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.00" on an invoice


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return EXACT.divide(EXACT.multiply(amount, percent), Decimal(100))


@dataclass(frozen=True)
class ExchangeRates:
    """Monthly rates: ``rates[period][currency]`` = units of ``currency`` for one unit of ``base``.

    ``ExchangeRates({"2024-01": {"JPY": Decimal("148.25"), "EUR": Decimal("0.9150")}})`` converts USD (the
    CUR's currency) to yen at 148.25 in January 2024. Conversions between two non-base currencies go through
    the base; converting *to* the base divides (exact to 100 digits, then rounded once on the invoice).
    """

    rates: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    base: str = "USD"

    def __post_init__(self) -> None:
        for period, table in self.rates.items():
            check_period(period)
            for currency, rate in table.items():
                if as_decimal(rate, f"rate {period} {currency}") <= 0:
                    raise ConfigurationError(f"rate {period} {currency} must be positive")

    def rate(self, period: str, currency: str) -> Decimal:
        if currency == self.base:
            return Decimal(1)
        try:
            return Decimal(self.rates[period][currency])
        except KeyError:
            raise MissingExchangeRateError(period, currency) from None

    def convert(self, amount: Decimal, source: str, target: str, period: str) -> Decimal:
        if source == target:
            return amount
        in_base = amount if source == self.base else EXACT.divide(amount, self.rate(period, source))
        return in_base if target == self.base else EXACT.multiply(in_base, self.rate(period, target))


def split_exact(total: Decimal, weights: Sequence[Decimal | int], unit: Decimal = ROW_QUANTUM) -> list[Decimal]:
    """Split ``total`` (a multiple of ``unit``) in proportion to ``weights``; the parts sum to ``total``.

    Weights summing to zero fall back to an even split. See the module docstring for the remainder rule.
    """
    if not weights:
        raise ValueError("split_exact needs at least one weight")
    units = Fraction(total) / Fraction(unit)
    if units.denominator != 1:
        raise ValueError(f"{total} is not a multiple of {unit}")
    exact_weights = [Fraction(w) for w in weights]
    if sum(exact_weights) == 0:
        exact_weights = [Fraction(1)] * len(weights)
    weight_sum = sum(exact_weights)
    shares = [units * w / weight_sum for w in exact_weights]
    floors = [s.numerator // s.denominator for s in shares]
    left = int(units) - sum(floors)
    assert 0 <= left <= len(weights), left
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [EXACT.multiply(Decimal(f), unit) for f in floors]
