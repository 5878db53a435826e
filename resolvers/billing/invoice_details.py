"""What an invoice states besides its lines, captured on the draft so the closed invoice never changes:
the tax policy it was computed under and its breakdown per rate, the exchange rates that converted the
costs, payment terms and details, and the facts of a Japanese qualified invoice (適格請求書).

The tax policy of a customer: the operator's rates by category (``tax_rates``); when none is in force for
the customer's category, the customer's own single rate (``customer_billing.tax_rate_percent``). The
provider-tax treatment and payment terms are the customer's override, else the issuer's.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from cost.billing import InvoiceDraft
from cost.billing.tax import DEFAULT_REVERSE_CHARGE_NOTE, ProviderTax, TaxPolicy, TaxRate, TaxRounding
from db.billing_records import BillingIssuerRecord, CustomerBillingRecord, ExchangeRateRecord, TaxRateRecord

DEFAULT_PAYMENT_TERMS_DAYS = 30


def tax_policy(
    issuer: BillingIssuerRecord | None, settings: CustomerBillingRecord, rates: Sequence[TaxRateRecord], period: str
) -> TaxPolicy:
    configured = tuple(TaxRate(r.category, r.rate_percent, r.name, r.valid_from, r.reduced) for r in rates)
    category = settings.tax_category or "standard"
    policy_rates = configured
    in_force = any(r.category == category and r.valid_from <= period for r in configured)
    if not in_force and settings.tax_rate_percent > 0:
        policy_rates = (*configured, TaxRate(category, settings.tax_rate_percent, settings.tax_name))
    return TaxPolicy(
        rates=policy_rates,
        default_category=category,
        provider_tax=ProviderTax(settings.provider_tax or (issuer.provider_tax if issuer else ProviderTax.REPLACE)),
        rounding=TaxRounding(issuer.tax_rounding) if issuer else TaxRounding.PER_RATE,
        jurisdiction=issuer.jurisdiction if issuer else "",
        reverse_charge=settings.reverse_charge,
        reverse_charge_note=(issuer.reverse_charge_note if issuer else "") or DEFAULT_REVERSE_CHARGE_NOTE,
    )


def payment_terms(issuer: BillingIssuerRecord | None, settings: CustomerBillingRecord | None) -> int:
    if settings is not None and settings.payment_terms_days is not None:
        return settings.payment_terms_days
    return issuer.payment_terms_days if issuer else DEFAULT_PAYMENT_TERMS_DAYS


def transaction_period(period: str) -> dict[str, str]:
    year, month = (int(x) for x in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    return {"start": f"{period}-01", "end": f"{period}-{last:02d}"}


def details_of(
    draft: InvoiceDraft, issuer: BillingIssuerRecord | None, rates: Sequence[ExchangeRateRecord]
) -> dict[str, Any]:
    policy = draft.policy or TaxPolicy()
    by_currency = {r.currency: r for r in rates}
    conversions = []
    for source in sorted(draft.source_currencies - {draft.currency}):
        # rates are units of a currency per USD; a USD cost row converts at the invoice currency's rate
        record = by_currency.get(draft.currency if source == "USD" else source)
        conversions.append(
            {
                "from": source,
                "to": draft.currency,
                "rate": None if record is None else format(record.rate.normalize(), "f"),
                "date": None if record is None or record.rate_date is None else record.rate_date.isoformat(),
                "source": "" if record is None else record.source,
            }
        )
    return {
        "tax_breakdown": [
            {
                "category": b.category,
                "name": b.name,
                "rate_percent": format(b.rate_percent.normalize(), "f"),
                "reduced": b.reduced,
                "taxable": format(b.taxable, "f"),
                "tax": format(b.tax, "f"),
            }
            for b in draft.tax_breakdown
        ],
        "provider_tax": str(policy.provider_tax),
        "tax_rounding": str(policy.rounding),
        "jurisdiction": policy.jurisdiction,
        # a supply outside Japanese consumption tax (reverse charge) has no tax per rate to state
        "qualified": bool(issuer and issuer.registration_number and policy.jurisdiction == "JP")
        and not policy.reverse_charge,
        "reverse_charge": policy.reverse_charge,
        "reverse_charge_note": policy.reverse_charge_note if policy.reverse_charge else "",
        "transaction_period": transaction_period(draft.period),
        "exchange_rates": conversions,
        "payment_details": issuer.payment_details if issuer else "",
    }


def credit_note_details(original: dict[str, Any]) -> dict[str, Any]:
    """A credit note states what the invoice it cancels stated, negated, and asks for no payment."""
    negated = [
        {**b, "taxable": format(-Decimal(b["taxable"]), "f"), "tax": format(-Decimal(b["tax"]), "f")}
        for b in original.get("tax_breakdown", ())
    ]
    return {**original, "tax_breakdown": negated}
