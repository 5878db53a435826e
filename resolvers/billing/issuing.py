"""Writing a closed invoice or credit note: its parties, terms, header and lines, inserted and closed (numbered
by the trigger) in the caller's savepoint. Shared by closing and voiding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from cost.billing import (
    InvoiceDraft,
)
from db.billing_records import InvoiceRecord
from db.queries import billing, invoices, tenancy
from db.records import TenantRecord
from db.session import RequestTransaction
from resolvers.billing import invoice_details
from resolvers.common.errors import Forbidden


async def parties(tx: RequestTransaction, customer: TenantRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    operator_id = customer.operator_id
    assert operator_id is not None
    operator = next(iter(await tenancy.tenants_by_ids(tx, [operator_id])), None)
    issuer = await billing.issuer_of(tx, operator_id)
    settings = (await billing.customer_billing_of(tx, [customer.id])).get(customer.id)
    bill_from = {
        "name": issuer.legal_name if issuer else (operator.name if operator else ""),
        "address": issuer.address if issuer else "",
        "tax_id": issuer.tax_id if issuer else "",
        "registration_number": issuer.registration_number if issuer else "",
        "email": issuer.email if issuer else "",
    }
    bill_to = {
        "name": (settings.legal_name if settings and settings.legal_name else customer.name),
        "address": settings.address if settings else "",
        "tax_id": settings.tax_id if settings else "",
        "email": settings.email if settings else "",
        "slug": customer.slug,
    }
    return bill_from, bill_to


async def issue(
    tx: RequestTransaction,
    customer: TenantRecord,
    header: dict[str, Any],
    lines: Sequence[dict[str, Any]],
) -> InvoiceRecord:
    """Insert a draft with its lines and close it (numbered by the trigger), in the caller's savepoint."""
    draft = await invoices.insert_draft(tx, {"tenant_id": customer.id, "operator_id": customer.operator_id, **header})
    await invoices.insert_lines(tx, customer.id, draft.id, lines)
    closed = await invoices.set_status(tx, customer.id, draft.id, "closed")
    if closed is None:
        raise Forbidden("the policies refused to close this invoice")
    return (await invoices.with_lines(tx, [closed]))[0]


def draft_lines(draft: InvoiceDraft) -> list[dict[str, Any]]:
    return [
        {
            "kind": str(line.kind),
            "service": line.service,
            "description": line.description,
            "quantity": line.quantity,
            "unit": line.unit,
            "amount": line.amount,
            "usage_type": line.usage_type,
            "tax_category": line.tax_category,
            "tax_rate_percent": line.tax_rate_percent,
        }
        for line in draft.lines
    ]


async def terms(tx: RequestTransaction, customer: TenantRecord, draft: InvoiceDraft) -> dict[str, Any]:
    """The invoice's payment terms and details as they are now (frozen on the draft, due date set at close)."""
    assert customer.operator_id is not None
    issuer = await billing.issuer_of(tx, customer.operator_id)
    settings = (await billing.customer_billing_of(tx, [customer.id])).get(customer.id)
    rates = await billing.rate_records_for(tx, customer.operator_id, draft.period)
    return {
        "payment_terms_days": invoice_details.payment_terms(issuer, settings),
        "details": invoice_details.details_of(draft, issuer, rates),
    }


def header_of(draft: InvoiceDraft, bill_from: dict[str, Any], bill_to: dict[str, Any]) -> dict[str, Any]:
    return {
        "period": draft.period,
        "currency": draft.currency,
        "subtotal": draft.subtotal,
        "tax": draft.tax,
        "total": draft.total,
        "plan_version_id": UUID(draft.plan_version_id),
        "bill_from": bill_from,
        "bill_to": bill_to,
    }
