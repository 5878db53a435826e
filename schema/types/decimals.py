"""The `Decimal` scalar, bounded: what numeric(38, 18) holds, finite, and nothing a float would round.

Strawberry's own scalar takes `NaN`, `Infinity` and `1e400`; each would be stored or blow up far from the
argument that carried it. Every Decimal argument of the API is parsed here, so the bound has no bypass.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

import strawberry

from cost.billing.money import MINOR_UNITS, quantum, round_money

MAX_INTEGER_DIGITS = 20
MAX_FRACTION_DIGITS = 18
_MAX_TEXT = 64
_ZERO = Decimal(0)
# Serialising never rounds: the default context's 28 digits would round (normalize) or refuse (quantize) the
# 38 digits an input may carry; this one holds every value the scalar accepts, and more, exactly.
_EXACT = Context(prec=100)
# Each listed currency's smallest unit, built once: money is serialised per field of every row.
_QUANTA: dict[str, Decimal] = {currency: quantum(currency) for currency in MINOR_UNITS}


def parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('a Decimal is sent as a string such as "12.50"')
    text = str(value).strip()
    if len(text) > _MAX_TEXT:
        raise ValueError(f"a Decimal has at most {_MAX_TEXT} characters")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_FRACTION_DIGITS and number != number.quantize(Decimal(1).scaleb(-MAX_FRACTION_DIGITS)):
        raise ValueError(f"{text!r} has more than {MAX_FRACTION_DIGITS} digits after the decimal point")
    if number != 0 and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_INTEGER_DIGITS} digits before the decimal point")
    return number


class Money(Decimal):
    """An amount already at its currency's exponent: serialised with exactly those digits ("12.30", "1500")."""


def money_amount(amount: Decimal, currency: str) -> Money:
    return Money(round_money(amount, currency))


def stated_money(amount: Decimal, currency: str) -> Money:
    """An amount shown with at least its currency's digits and never rounded ("5000000" → "5000000.00" USD,
    a price of "0.00012" USD stays): for money that is not an invoice figure (prices, invested amounts)."""
    number = amount if type(amount) is Decimal else Decimal(amount)
    if not number:
        number = _ZERO  # no "-0.00"
    step = _QUANTA.get(currency)
    if step is None:  # a currency the billing table does not list: shown normalised
        return Money(number.normalize(_EXACT))
    # Quantizing with 100 digits is exact or refused; equal means no digit was lost (the common case, one step).
    padded = number.quantize(step, context=_EXACT)
    return Money(padded if padded == number else number.normalize(_EXACT))


def serialize_decimal(value: Decimal) -> str:
    """Plain positional text, never an exponent: money keeps its currency's digits, any other value is
    normalised (``-6.7600000000E-8`` → ``-0.0000000676``, ``0E-18`` → ``0``)."""
    if isinstance(value, Money):
        number: Decimal = value
    elif value:
        number = (value if type(value) is Decimal else Decimal(value)).normalize(_EXACT)
    else:
        return "0"
    text = format(number, "f")
    return text if number else text.removeprefix("-")


DECIMAL = strawberry.scalar(
    name="Decimal",
    description="Decimal (fixed-point), as a plain string: money at its currency's exponent, other values "
    "normalised (no exponent, no trailing zeros)",
    serialize=serialize_decimal,
    parse_value=parse_decimal,
)
