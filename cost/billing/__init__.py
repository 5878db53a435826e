"""Billing engine: pure computation from normalised cost rows (:data:`cost.columns.SCHEMA`) to invoices.

No database, no I/O: the DB/GraphQL layer loads plans, billing groups, rates and items, reads a tenant's rows
from the store (through an :class:`~cost.scope.AccountScope`) and calls these functions.

- :mod:`~cost.billing.groups` — accounts → tenants over time, :func:`split_by_tenant` (pro rata by hours);
- :mod:`~cost.billing.plans` — versioned pricing plans, rules, exclusions, custom items, tax;
- :mod:`~cost.billing.reservations` — RI / Savings Plan treatment;
- :mod:`~cost.billing.rating` — :func:`rate`, :func:`operator_cost` (CUDOS amortised cost);
- :mod:`~cost.billing.margins` — :func:`margin_report` (billed, cost, margin per tenant/service/period);
- :mod:`~cost.billing.allocation` — cost categories and shared-cost splits;
- :mod:`~cost.billing.invoice` — :func:`compute_invoice` → :class:`InvoiceDraft`;
- :mod:`~cost.billing.money` — currencies, rounding, exchange rates, exact splits;
- :mod:`~cost.billing.errors` — the error hierarchy.
"""

from cost.billing.allocation import (
    Allocation,
    CategoryRule,
    CostCategories,
    Match,
    SharedRule,
    SplitMethod,
    allocate,
    categorise,
    category_totals,
)
from cost.billing.errors import (
    BillingError,
    ConfigurationError,
    InvalidPlanError,
    InvalidSharesError,
    MissingExchangeRateError,
    OverlappingAssignmentError,
    UnknownCurrencyError,
)
from cost.billing.groups import Assignment, BillingGroups, TenantSplit, rows_for_tenant, split_by_tenant
from cost.billing.invoice import InvoiceDraft, InvoiceLine, LineKind, compute_invoice
from cost.billing.margins import MarginRow, margin_report
from cost.billing.money import ExchangeRates, Rounding, minor_units, round_money, split_exact
from cost.billing.plans import (
    Adjustment,
    Base,
    CommitmentTreatment,
    CustomItem,
    Exclusions,
    ItemAmount,
    ItemKind,
    PlanVersion,
    PricingPlan,
    Recurrence,
    Rule,
    Scope,
    TaxRule,
)
from cost.billing.rating import RatedGroup, Role, operator_cost, rate

__all__ = [
    "Adjustment",
    "Allocation",
    "Assignment",
    "Base",
    "BillingError",
    "BillingGroups",
    "CategoryRule",
    "CommitmentTreatment",
    "ConfigurationError",
    "CostCategories",
    "CustomItem",
    "ExchangeRates",
    "Exclusions",
    "InvalidPlanError",
    "InvalidSharesError",
    "InvoiceDraft",
    "InvoiceLine",
    "ItemAmount",
    "ItemKind",
    "LineKind",
    "MarginRow",
    "Match",
    "MissingExchangeRateError",
    "OverlappingAssignmentError",
    "PlanVersion",
    "PricingPlan",
    "RatedGroup",
    "Recurrence",
    "Role",
    "Rounding",
    "Rule",
    "Scope",
    "SharedRule",
    "SplitMethod",
    "TaxRule",
    "TenantSplit",
    "UnknownCurrencyError",
    "allocate",
    "categorise",
    "category_totals",
    "compute_invoice",
    "margin_report",
    "minor_units",
    "operator_cost",
    "rate",
    "round_money",
    "rows_for_tenant",
    "split_by_tenant",
    "split_exact",
]
