"""Voiding a closed invoice: a credit note and a reissued invoice from current data, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from cost.billing import InvoiceDraft
from db.billing_records import InvoiceKind, InvoiceRecord, InvoiceStatus
from db.errors import PolicyViolation
from db.queries import costs, invoices, tenancy
from db.records import TenantRecord
from db.session import RequestTransaction
from resolvers.billing import invoice_details
from resolvers.billing.access import require_billing_admin
from resolvers.billing.drafts import PeriodHasNoData, compute_draft
from resolvers.billing.issuing import draft_lines, header_of, issue, parties, terms
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.costs.imports import require_store
from resolvers.global_ids import encode_global_id


@dataclass(frozen=True)
class Voided:
    voided: InvoiceRecord
    credit_note: InvoiceRecord
    reissued: InvoiceRecord | None


async def void_invoice(ctx: RequestContext, invoice_id: UUID, reason: str) -> Voided:
    """closed → void, with a credit note (negated lines, its own number) and a reissued invoice recomputed
    from current data (none when the period has no data any more), in one transaction."""
    require_billing_admin(ctx)
    store = require_store(ctx)
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidInput("give a reason (1 to 1000 characters)", field="reason")
    tx = ctx.tx
    original, customer = await _closed_invoice(tx, invoice_id)
    try:
        draft: InvoiceDraft | None = await compute_draft(tx, store, customer, original.period)
    except PeriodHasNoData:
        draft = None
    bill_from, bill_to = await parties(tx, customer)
    try:
        async with tx.savepoint():
            voided = await invoices.set_status(tx, customer.id, original.id, "void", reason)
            assert voided is not None
            credit = await _issue_credit_note(tx, customer, original)
            reissued = None
            if draft is not None:
                header = {
                    **header_of(draft, bill_from, bill_to),
                    **await terms(tx, customer, draft),
                    "replaces_id": original.id,
                }
                reissued = await issue(tx, customer, header, draft_lines(draft))
    except PolicyViolation as error:
        raise Forbidden("only the operator's billing admins void its customers' invoices") from error
    return Voided(voided=voided, credit_note=credit, reissued=reissued)


async def _closed_invoice(tx: RequestTransaction, invoice_id: UUID) -> tuple[InvoiceRecord, TenantRecord]:
    """The closed invoice and its customer, read again under the customer's period lock (a concurrent close or
    void of that period waits for this transaction)."""
    original = await invoices.invoice_by_id(tx, invoice_id)
    if original is None or not await costs.is_billed_tenant(tx, original.tenant_id):
        raise NotFound(f"no invoice {encode_global_id('Invoice', invoice_id)} of a tenant your operator bills")
    await invoices.lock_tenant_period(tx, original.tenant_id, original.period)
    original = await invoices.invoice_by_id(tx, invoice_id)
    assert original is not None
    if original.kind is not InvoiceKind.INVOICE or original.status is not InvoiceStatus.CLOSED:
        raise Conflict(f"only a closed invoice can be voided; this is a {original.status} {original.kind}")
    return original, (await tenancy.tenants_by_ids(tx, [original.tenant_id]))[0]


async def _issue_credit_note(tx: RequestTransaction, customer: TenantRecord, original: InvoiceRecord) -> InvoiceRecord:
    """The original's lines and totals negated, under its own number, for the same parties as the original."""
    credit_lines = [
        {
            "kind": line.kind,
            "service": line.service,
            "description": line.description,
            "quantity": line.quantity,
            "unit": line.unit,
            "amount": -line.amount,
            "usage_type": line.usage_type,
            "tax_category": line.tax_category,
            "tax_rate_percent": line.tax_rate_percent,
        }
        for line in original.lines
    ]
    header = {
        "kind": "credit_note",
        "period": original.period,
        "currency": original.currency,
        "subtotal": -original.subtotal,
        "tax": -original.tax,
        "total": -original.total,
        "plan_version_id": original.plan_version_id,
        "credit_note_for_id": original.id,
        "bill_from": original.bill_from,
        "bill_to": original.bill_to,
        "details": invoice_details.credit_note_details(original.details),
    }
    return await issue(tx, customer, header, credit_lines)
