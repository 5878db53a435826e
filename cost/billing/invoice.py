"""Invoice computation: a tenant's rows for a period → an :class:`InvoiceDraft` whose lines sum to its total.

Order of operations, each amount rounded exactly once in the invoice currency with the plan's rounding mode:

1. the rows are narrowed to the tenant's share (:func:`cost.billing.groups.rows_for_tenant`) and rated
   (:func:`cost.billing.rating.rate`), exactly, in the rows' currency;
2. rated groups are summed per invoice line — ``USAGE`` per service (pass-through rows of Marketplace,
   Support and AWS tax on separate lines of the service), ``CREDIT`` per service for AWS credits and refunds,
   ``CORRECTION`` per service for rows whose ChargeClass is ``Correction`` (late data of a closed period that
   the caller re-homed into this one) — converted at the period's rate and rounded: one rounding per line;
3. custom items: ``FLAT`` amounts converted and rounded, ``PERCENT`` items a percentage of the rated subtotal
   (the sum of the rounded lines of step 2), rounded; credits negative;
4. subtotal = sum of the rounded lines; tax = the tenant's rate on that subtotal, rounded once;
   total = subtotal + tax. So ``sum(line.amount for line in lines) == total`` exactly, by construction.

Operator cost is the amortised cost of the same rows, converted and rounded once; margin = subtotal −
operator cost (tax is not revenue).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from cost.billing.groups import BillingGroups
from cost.billing.groups import rows_for_tenant as _tenant_share
from cost.billing.money import EXACT, ZERO, ExchangeRates, check_period, percent_of, round_money
from cost.billing.plans import CustomItem, ItemAmount, ItemKind, PlanVersion, TaxRule
from cost.billing.rating import RatedGroup, Role, rate


class LineKind(enum.StrEnum):
    USAGE = "USAGE"
    FEE = "FEE"
    CREDIT = "CREDIT"
    TAX = "TAX"
    CORRECTION = "CORRECTION"


_KIND_ORDER = {LineKind.USAGE: 0, LineKind.CORRECTION: 1, LineKind.CREDIT: 2, LineKind.FEE: 3, LineKind.TAX: 4}
_DESCRIPTIONS = {
    Role.MARKETPLACE: "AWS Marketplace (passed through)",
    Role.SUPPORT: "AWS Support (passed through)",
    Role.TAX: "AWS tax (passed through)",
    Role.CREDIT: "AWS credits and refunds",
    Role.EXCLUDED: "Passed through",
}


@dataclass(frozen=True)
class InvoiceLine:
    kind: LineKind
    service: str | None
    description: str
    quantity: Decimal | None  # summed PricingQuantity when the line has a single unit, else None
    amount: Decimal
    unit: str | None = None


@dataclass(frozen=True)
class InvoiceDraft:
    tenant_id: str
    period: str
    currency: str
    plan_version_id: str
    lines: list[InvoiceLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    operator_cost: Decimal
    margin: Decimal


@dataclass
class _Pending:
    amounts: dict[str, Decimal]  # per source currency
    quantity: Decimal
    units: set[str | None]


def compute_invoice(
    rows_for_tenant: pa.Table | pa.RecordBatch,
    plan_version: PlanVersion,
    billing_groups: BillingGroups | None,
    fx: ExchangeRates,
    tax: TaxRule | None,
    custom_items: Iterable[CustomItem],
    period: str,
    *,
    tenant_id: str,
) -> InvoiceDraft:
    """The draft invoice of ``tenant_id`` for ``period`` (``YYYY-MM``) in the plan version's currency.

    ``rows_for_tenant`` may hold rows of accounts that moved between tenants: with ``billing_groups`` they are
    narrowed to this tenant's hours first; pass ``None`` when the caller already did.
    """
    check_period(period)
    plan = plan_version
    currency, mode = plan.currency, plan.rounding
    rows = rows_for_tenant
    if billing_groups is not None:
        rows = _tenant_share(rows, billing_groups, tenant_id)
    groups = rate(rows, plan, tenant_id=tenant_id, by=("service", "unit"))

    pending: dict[tuple[LineKind, str | None, str], _Pending] = {}
    costs: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for g in groups:
        key = _line_key(g)
        line = pending.setdefault(key, _Pending(defaultdict(lambda: ZERO), ZERO, set()))
        line.amounts[g.currency] = EXACT.add(line.amounts[g.currency], g.billed)
        line.quantity = EXACT.add(line.quantity, g.quantity)
        line.units.add(g.unit)
        costs[g.currency] = EXACT.add(costs[g.currency], g.cost)

    def to_invoice(amounts: dict[str, Decimal]) -> Decimal:
        exact = sum((fx.convert(a, source, currency, period) for source, a in sorted(amounts.items())), ZERO)
        return round_money(exact, currency, mode)

    lines = [
        InvoiceLine(
            kind=kind,
            service=service,
            description=description,
            quantity=p.quantity if len(p.units) == 1 else None,
            unit=next(iter(p.units)) if len(p.units) == 1 else None,
            amount=to_invoice(p.amounts),
        )
        for (kind, service, description), p in pending.items()
    ]
    lines.sort(key=lambda x: (_KIND_ORDER[x.kind], x.service or "", x.description))
    rated = sum((x.amount for x in lines), ZERO)

    items: list[InvoiceLine] = []
    for item in custom_items:
        if not item.applies_to(period):
            continue
        if item.amount_type is ItemAmount.PERCENT:
            amount = round_money(percent_of(rated, item.value), currency, mode)
        else:
            amount = to_invoice({item.currency or currency: item.value})
        sign = 1 if item.kind is ItemKind.FEE else -1
        kind = LineKind.FEE if item.kind is ItemKind.FEE else LineKind.CREDIT
        items.append(InvoiceLine(kind, None, item.description, None, amount * sign))
    lines += items

    subtotal = sum((x.amount for x in lines), ZERO)
    tax_amount = ZERO
    if tax is not None:
        tax_amount = round_money(percent_of(subtotal, tax.rate_percent), currency, mode)
        lines.append(
            InvoiceLine(LineKind.TAX, None, f"{tax.name} {tax.rate_percent.normalize():f} %", None, tax_amount)
        )
    total = subtotal + tax_amount
    assert sum((x.amount for x in lines), ZERO) == total
    operator = to_invoice(dict(costs))
    return InvoiceDraft(
        tenant_id=tenant_id,
        period=period,
        currency=currency,
        plan_version_id=plan.id,
        lines=lines,
        subtotal=subtotal,
        tax=tax_amount,
        total=total,
        operator_cost=operator,
        margin=subtotal - operator,
    )


def _line_key(g: RatedGroup) -> tuple[LineKind, str | None, str]:
    if g.correction:
        return LineKind.CORRECTION, g.service, f"Correction: {g.service or 'unknown service'}"
    if g.role is Role.CREDIT:
        return LineKind.CREDIT, g.service, _DESCRIPTIONS[Role.CREDIT]
    return LineKind.USAGE, g.service, _DESCRIPTIONS.get(g.role, g.service or "Unknown service")
