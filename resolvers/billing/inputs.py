"""Checks of billing input shared by plans, customer settings and operator settings: each raises
:class:`InvalidInput` naming the field."""

from __future__ import annotations

import enum
from typing import TypeVar

from cost.billing.errors import BillingError
from cost.billing.money import minor_units
from cost.billing.tax import check_category
from resolvers.common.errors import InvalidInput

E = TypeVar("E", bound=enum.Enum)


def engine_enum(kind: type[E], value: str, field: str) -> E:
    """`value` as the engine's own enum `kind`; a value outside it is an InvalidInput naming `field`."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise InvalidInput(f"{value!r} is not one of {allowed}", field=field) from None


def currency_code(value: str, field: str = "currency") -> str:
    value = value.strip().upper()
    try:
        minor_units(value)
    except BillingError:
        raise InvalidInput(f"unknown currency {value!r}", field=field) from None
    return value


def tax_category_code(value: str) -> str:
    try:
        return check_category(value.strip())
    except BillingError as error:
        raise InvalidInput(str(error), field="taxCategory") from None


def bounded_text(value: str, limit: int, field: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=field)
    return value


def check_payment_terms(days: int | None) -> None:
    if days is not None and not 0 <= days <= 365:
        raise InvalidInput("payment terms are 0 to 365 days", field="paymentTermsDays")
