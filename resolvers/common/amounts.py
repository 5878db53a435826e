"""Exact decimal input: amounts arrive as strings and become `Decimal`, never passing through a float."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from cost.billing.errors import BillingError
from cost.billing.money import check_period
from resolvers.common.errors import InvalidInput

_DECIMAL = re.compile(r"([+-]?)(\d+)(?:\.(\d+))?")
_CURRENCY = re.compile(r"[A-Z]{3}")


def parse_decimal(text: str, field: str, *, scale: int, digits: int) -> Decimal:
    """`text` as a Decimal with at most `scale` places and `digits` digits before the point."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"{text!r} is not a decimal number such as '-1234.50'", field=field)
    integer, fraction = match.group(2), match.group(3) or ""
    if len(fraction) > scale:
        raise InvalidInput(f"{text} has {len(fraction)} decimal places; at most {scale} are kept", field=field)
    if len(integer.lstrip("0")) > digits:
        raise InvalidInput(f"{text} is too large: at most {digits} digits before the decimal point", field=field)
    return Decimal(text.strip())


def checked_currency(code: str, field: str = "currency") -> str:
    if not _CURRENCY.fullmatch(code):
        raise InvalidInput(f"{code!r} is not an ISO 4217 currency code such as 'JPY' or 'USD'", field=field)
    return code


def checked_period(start: date, end: date, *, end_field: str = "periodEnd") -> None:
    if end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})", field=end_field)


def period_of(value: str, field: str = "period") -> str:
    """A billing period, `YYYY-MM`, or bad input naming `field`."""
    try:
        return check_period(value)
    except BillingError:
        raise InvalidInput(f"{field} must be a month, YYYY-MM", field=field) from None
