"""Errors raised by the billing engine (:mod:`cost.billing`).

Every error is a :class:`cost.errors.CostError`, so a caller catching the cost engine's errors catches these too.

::

    CostError
    └── BillingError                      anything the billing engine refuses
        ├── ConfigurationError            invalid input data (plans, groups, categories, items)
        │   ├── InvalidPlanError          a pricing rule, plan version or custom item that makes no sense
        │   ├── OverlappingAssignmentError  one account assigned to two tenants at the same instant
        │   └── InvalidSharesError        fixed shares that do not sum to 100 or name unknown targets
        ├── UnknownCurrencyError          a currency code without a known ISO 4217 exponent
        └── MissingExchangeRateError      no rate for (period, currency)
"""

from __future__ import annotations

from cost.errors import CostError


class BillingError(CostError):
    """Base class of every error raised by :mod:`cost.billing`."""


class ConfigurationError(BillingError, ValueError):
    """Billing input data (plans, billing groups, cost categories, custom items) that cannot be used."""


class InvalidPlanError(ConfigurationError):
    pass


class OverlappingAssignmentError(ConfigurationError):
    pass


class InvalidSharesError(ConfigurationError):
    pass


class UnknownCurrencyError(BillingError, ValueError):
    def __init__(self, currency: str) -> None:
        self.currency = currency
        super().__init__(f"unknown currency {currency!r}: no ISO 4217 minor-unit exponent known")


class MissingExchangeRateError(BillingError, LookupError):
    def __init__(self, period: str, currency: str) -> None:
        self.period = period
        self.currency = currency
        super().__init__(f"no exchange rate for {currency} in period {period}")
