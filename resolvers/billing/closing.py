"""Closing one tenant's invoice for a period.

Closing one (tenant, period) is one transaction of the acting billing admin: an advisory lock on (tenant,
period) serialises concurrent closes, the unique index on closed invoices is the backstop, the draft and its
lines are written and closed inside a savepoint (the trigger numbers it from the operator's counter), and the
operator's period is locked against further imports. Anything that fails rolls all of it back: no header
without lines, no consumed number. :func:`close_for` is what GraphQL, the job and the CLI all call.
"""

from __future__ import annotations

from cost import CostStore
from db.billing_records import InvoiceRecord
from db.errors import PolicyViolation, UniqueViolation
from db.queries import invoices
from db.records import TenantRecord
from db.session import RequestTransaction
from resolvers.billing.access import billed_customer, require_billing_admin
from resolvers.billing.drafts import compute_draft
from resolvers.billing.issuing import draft_lines, header_of, issue, parties, terms
from resolvers.common.amounts import period_of
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput
from resolvers.costs.imports import require_store


class InvoiceAlreadyClosed(Conflict):
    def __init__(self, invoice: InvoiceRecord) -> None:
        super().__init__(f"invoice {invoice.number} already closes {invoice.period} for this tenant")
        self.invoice = invoice


def _same_request(found: InvoiceRecord, customer: TenantRecord, period: str) -> InvoiceRecord:
    if found.tenant_id != customer.id or found.period != period:
        raise InvalidInput("this idempotency key was used for another tenant or period", field="idempotencyKey")
    return found


async def close_for(
    tx: RequestTransaction, store: CostStore, customer: TenantRecord, period: str, idempotency_key: str | None
) -> InvoiceRecord:
    """Close `customer`'s invoice for `period` as the transaction's billing admin (see the module docstring).

    The same idempotency key returns the invoice it created; another close of a closed (tenant, period)
    raises :class:`InvoiceAlreadyClosed`."""
    operator_id = tx.context.tenant_id
    assert operator_id is not None
    if idempotency_key is not None:
        found = await invoices.invoice_by_idempotency_key(tx, operator_id, idempotency_key)
        if found is not None:
            return (await invoices.with_lines(tx, [_same_request(found, customer, period)]))[0]
    await invoices.lock_tenant_period(tx, customer.id, period)
    if idempotency_key is not None:  # a concurrent close with this key may have committed while we waited
        found = await invoices.invoice_by_idempotency_key(tx, operator_id, idempotency_key)
        if found is not None:
            return (await invoices.with_lines(tx, [_same_request(found, customer, period)]))[0]
    existing = await invoices.closed_invoice_for(tx, customer.id, period)
    if existing is not None:
        raise InvoiceAlreadyClosed(existing)
    draft = await compute_draft(tx, store, customer, period)
    bill_from, bill_to = await parties(tx, customer)
    header = {
        **header_of(draft, bill_from, bill_to),
        **await terms(tx, customer, draft),
        "idempotency_key": idempotency_key,
    }
    try:
        async with tx.savepoint():
            record = await issue(tx, customer, header, draft_lines(draft))
            await invoices.lock_period(tx, operator_id, period, f"invoice {record.number} closed")
    except UniqueViolation:
        existing = await invoices.closed_invoice_for(tx, customer.id, period)
        if existing is None:
            raise
        raise InvoiceAlreadyClosed(existing) from None
    except PolicyViolation as error:
        raise Forbidden("only the operator's billing admins close its customers' invoices") from error
    return record


async def close_invoice(
    ctx: RequestContext, tenant_slug: str, period: str, idempotency_key: str | None
) -> InvoiceRecord:
    require_billing_admin(ctx)
    store = require_store(ctx)
    period = period_of(period)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInput("an idempotency key has 1 to 200 characters", field="idempotencyKey")
    customer = await billed_customer(ctx.tx, tenant_slug)
    return await close_for(ctx.tx, store, customer, period, idempotency_key)
