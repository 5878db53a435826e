"""Invoice computation: a tenant's rows for a period → an :class:`InvoiceDraft` whose lines sum to its total.

Order of operations, each amount rounded exactly once in the invoice currency with the plan's rounding mode:

1. the rows are narrowed to the tenant's share (:func:`cost.billing.groups.rows_for_tenant`) and rated
   (:func:`cost.billing.rating.rate`), exactly, in the rows' currency;
2. rated groups are summed per invoice line as a customer reads them — ``USAGE`` per service, then usage
   type and unit (its own quantity; Marketplace and Support pass-through rows included), ``CREDIT`` per
   service for AWS credits and refunds, ``CORRECTION`` per service for rows whose ChargeClass is
   ``Correction`` (late data of a closed period re-homed into this one), the provider's own tax as its
   :class:`~cost.billing.tax.ProviderTax` treatment says — converted at the period's rate and rounded: one
   rounding per line. Only usage lines carry a quantity;
3. custom items: ``FLAT`` amounts converted and rounded, ``PERCENT`` items a percentage of the rated subtotal
   (the sum of the rounded lines of step 2), rounded; credits negative;
4. subtotal = sum of the rounded lines; tax per rate on the lines of that rate (:mod:`cost.billing.tax`:
   once per invoice and rate, or per line where the jurisdiction allows); passed-through provider tax is a
   ``TAX`` line outside every taxable base; total = subtotal + tax. So ``sum(line.amount) == total`` exactly.

Operator cost is the amortised cost of the same rows (the provider tax included: the operator paid it),
converted and rounded once; margin = subtotal − operator cost (tax is not revenue).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

import pyarrow as pa

from cost.billing.groups import BillingGroups
from cost.billing.groups import rows_for_tenant as _tenant_share
from cost.billing.money import EXACT, ZERO, ExchangeRates, Rounding, check_period, percent_of, round_money
from cost.billing.plans import CustomItem, ItemAmount, ItemKind, PlanVersion, TaxRule
from cost.billing.rating import RatedGroup, Role, rate
from cost.billing.tax import ProviderTax, TaxBreakdown, TaxPolicy, TaxRate, single_rate, tax_by_rate


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
    Role.USAGE: "",
    Role.CREDIT: "AWS credits and refunds",
    Role.EXCLUDED: "Passed through",
}


@dataclass(frozen=True)
class InvoiceLine:
    kind: LineKind
    service: str | None
    description: str
    quantity: Decimal | None  # summed PricingQuantity of a usage line (one usage type, one unit), else None
    amount: Decimal
    unit: str | None = None
    usage_type: str | None = None
    tax_category: str | None = None  # None: outside every taxable base (tax lines, passed-through tax)
    tax_rate_percent: Decimal | None = None


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
    tax_breakdown: tuple[TaxBreakdown, ...] = ()
    source_currencies: frozenset[str] = frozenset()  # the cost rows' currencies (converted when not `currency`)
    policy: TaxPolicy | None = None


@dataclass
class _Pending:
    amounts: dict[str, Decimal]  # per source currency
    quantity: Decimal


def compute_invoice(
    rows_for_tenant: pa.Table | pa.RecordBatch,
    plan_version: PlanVersion,
    billing_groups: BillingGroups | None,
    fx: ExchangeRates,
    tax: TaxRule | TaxPolicy | None,
    custom_items: Iterable[CustomItem],
    period: str,
    *,
    tenant_id: str,
) -> InvoiceDraft:
    """The draft invoice of ``tenant_id`` for ``period`` (``YYYY-MM``) in the plan version's currency.

    ``rows_for_tenant`` may hold rows of accounts that moved between tenants: with ``billing_groups`` they are
    narrowed to this tenant's hours first; pass ``None`` when the caller already did. ``tax``: a
    :class:`TaxPolicy`, a single :class:`TaxRule` (one standard rate, provider tax replaced), or ``None`` (no
    tax; the provider's tax passed through untaxed).
    """
    check_period(period)
    policy = _policy_of(tax)
    plan = plan_version
    rows = rows_for_tenant
    if billing_groups is not None:
        rows = _tenant_share(rows, billing_groups, tenant_id)
    groups = rate(rows, plan, tenant_id=tenant_id, by=("service", "usage_type", "unit"))
    pending, costs = _summed(groups, policy.provider_tax)
    pricing = _Pricing(fx, plan.currency, plan.rounding, period, policy)

    lines = _rated_lines(pending, pricing)
    rated = sum((x.amount for x in lines if x.kind is not LineKind.TAX), ZERO)
    provider_tax = [x for x in lines if x.kind is LineKind.TAX]
    lines = [x for x in lines if x.kind is not LineKind.TAX] + _custom_lines(custom_items, rated, pricing)

    subtotal = sum((x.amount for x in lines), ZERO)
    breakdown = _breakdown(lines, pricing)
    lines += _tax_lines(breakdown, policy) + provider_tax
    tax_amount = sum((x.amount for x in lines if x.kind is LineKind.TAX), ZERO)
    total = subtotal + tax_amount
    assert sum((x.amount for x in lines), ZERO) == total
    operator = pricing.to_invoice(dict(costs))
    return InvoiceDraft(
        tenant_id=tenant_id,
        period=period,
        currency=plan.currency,
        plan_version_id=plan.id,
        lines=lines,
        subtotal=subtotal,
        tax=tax_amount,
        total=total,
        operator_cost=operator,
        margin=subtotal - operator,
        tax_breakdown=tuple(breakdown),
        source_currencies=frozenset(costs),
        policy=policy,
    )


@dataclass(frozen=True)
class _Pricing:
    """What turns an amount into an invoice amount: the period's rates, the plan's currency and rounding, tax."""

    fx: ExchangeRates
    currency: str
    mode: Rounding
    period: str
    policy: TaxPolicy

    def to_invoice(self, amounts: dict[str, Decimal]) -> Decimal:
        convert = self.fx.convert
        exact = sum((convert(a, source, self.currency, self.period) for source, a in sorted(amounts.items())), ZERO)
        return round_money(exact, self.currency, self.mode)

    def taxed(self, line: InvoiceLine, category: str | None = None) -> InvoiceLine:
        found = self.policy.rate_for(category or self.policy.default_category, self.period)
        if found is None:
            return line
        return replace(line, tax_category=category or self.policy.default_category, tax_rate_percent=found.rate_percent)


def _summed(groups: Iterable[RatedGroup], provider_tax: ProviderTax) -> tuple[dict[_Key, _Pending], dict[str, Decimal]]:
    """Rated groups summed per invoice line (exact, per source currency), and the operator's cost per currency."""
    pending: dict[_Key, _Pending] = {}
    costs: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for g in groups:
        costs[g.currency] = EXACT.add(costs[g.currency], g.cost)
        key = _line_key(g, provider_tax)
        if key is None:
            continue
        summed = pending.setdefault(key, _Pending(defaultdict(lambda: ZERO), ZERO))
        summed.amounts[g.currency] = EXACT.add(summed.amounts[g.currency], g.billed)
        summed.quantity = EXACT.add(summed.quantity, g.quantity)
    return pending, costs


def _rated_lines(pending: dict[_Key, _Pending], pricing: _Pricing) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    for key, p in pending.items():
        measured = key.kind is LineKind.USAGE and key.measured
        line = InvoiceLine(
            kind=key.kind,
            service=key.service,
            description=key.description,
            quantity=p.quantity if measured else None,
            unit=key.unit if measured else None,
            amount=pricing.to_invoice(p.amounts),
            usage_type=key.usage_type,
        )
        lines.append(line if key.kind is LineKind.TAX else pricing.taxed(line))
    lines.sort(key=lambda x: (_KIND_ORDER[x.kind], x.service or "", x.description, x.unit or ""))
    return lines


def _custom_lines(custom_items: Iterable[CustomItem], rated: Decimal, pricing: _Pricing) -> list[InvoiceLine]:
    items: list[InvoiceLine] = []
    for item in custom_items:
        if not item.applies_to(pricing.period):
            continue
        if item.amount_type is ItemAmount.PERCENT:
            amount = round_money(percent_of(rated, item.value), pricing.currency, pricing.mode)
        else:
            amount = pricing.to_invoice({item.currency or pricing.currency: item.value})
        sign = 1 if item.kind is ItemKind.FEE else -1
        kind = LineKind.FEE if item.kind is ItemKind.FEE else LineKind.CREDIT
        items.append(pricing.taxed(InvoiceLine(kind, None, item.description, None, amount * sign), item.tax_category))
    return items


def _breakdown(lines: list[InvoiceLine], pricing: _Pricing) -> list[TaxBreakdown]:
    policy, period = pricing.policy, pricing.period
    rates = {r.category: r for r in policy.rates}
    return tax_by_rate(
        (
            (x.amount, policy.rate_for(x.tax_category, period) or rates[x.tax_category])
            for x in lines
            if x.tax_category is not None
        ),
        policy,
        pricing.currency,
        pricing.mode,
    )


def _tax_lines(breakdown: list[TaxBreakdown], policy: TaxPolicy) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            LineKind.TAX,
            None,
            f"{b.name} {b.rate_percent.normalize():f} %",
            None,
            b.tax,
            tax_category=b.category,
            tax_rate_percent=b.rate_percent,
        )
        for b in breakdown
        if b.tax or not policy.reverse_charge
    ]


def _policy_of(tax: TaxRule | TaxPolicy | None) -> TaxPolicy:
    if isinstance(tax, TaxPolicy):
        return tax
    if tax is None:
        return TaxPolicy(provider_tax=ProviderTax.PASS_THROUGH)
    rates: tuple[TaxRate, ...] = tuple(single_rate(tax.rate_percent, tax.name)) if tax.rate_percent > 0 else ()
    return TaxPolicy(rates=rates)


@dataclass(frozen=True)
class _Key:
    kind: LineKind
    service: str | None
    description: str
    usage_type: str | None = None
    unit: str | None = None
    measured: bool = False


def _line_key(g: RatedGroup, provider_tax: ProviderTax) -> _Key | None:
    if g.role is Role.TAX:
        if provider_tax is ProviderTax.REPLACE:
            return None
        if provider_tax is ProviderTax.PASS_THROUGH:
            return _Key(LineKind.TAX, g.service, _DESCRIPTIONS[Role.TAX])
        return _Key(LineKind.USAGE, g.service, "AWS tax (billed as cost)")
    if g.correction:
        return _Key(LineKind.CORRECTION, g.service, f"Correction: {g.service or 'unknown service'}")
    if g.role is Role.CREDIT:
        return _Key(LineKind.CREDIT, g.service, _DESCRIPTIONS[Role.CREDIT])
    note = _DESCRIPTIONS.get(g.role, "")
    label = g.usage_type or g.service or "Unknown service"
    description = f"{label} — {note}" if note and g.usage_type else (note or label)
    return _Key(LineKind.USAGE, g.service, description, g.usage_type, g.unit, measured=True)
