"""The `Decimal` scalar, bounded: what numeric(38, 18) holds, finite, and nothing a float would round.

Strawberry's own scalar takes `NaN`, `Infinity` and `1e400`; each would be stored or blow up far from the
argument that carried it. Every Decimal argument of the API is parsed here, so the bound has no bypass.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import strawberry

MAX_INTEGER_DIGITS = 20
MAX_FRACTION_DIGITS = 18
_MAX_TEXT = 64


def parse_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a Decimal is sent as a string such as \"12.50\"")
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


DECIMAL = strawberry.scalar(
    name="Decimal",
    description="Decimal (fixed-point)",
    serialize=str,
    parse_value=parse_decimal,
)
