"""An invoice's document: rendered as HTML or PDF from its stored record."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal
from uuid import UUID

from cost.billing import (
    fonts,
)
from cost.billing.document import InvoiceDocument, lines_of, render_html, render_pdf
from db.billing_records import InvoiceRecord
from db.queries import invoices
from resolvers.billing.reads import invoice
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, Conflict


class DocumentFontMissing(ApiError):
    """No font on the server covers the document's text (the message names the setting that fixes it)."""

    code = "DOCUMENT_FONT_MISSING"


def document_of(record: InvoiceRecord, replaced_number: int | None = None) -> InvoiceDocument:
    return InvoiceDocument(
        number=record.number,
        kind=record.kind,
        status=record.status,
        period=record.period,
        currency=record.currency,
        issued_at=record.closed_at,
        bill_from=record.bill_from,
        bill_to=record.bill_to,
        lines=lines_of(record.lines),
        subtotal=Decimal(record.subtotal),
        tax=Decimal(record.tax),
        total=Decimal(record.total),
        refers_to_number=replaced_number,
        void_reason=record.void_reason,
        due_date=record.due_date,
        payment_terms_days=record.payment_terms_days,
        details=record.details,
    )


async def invoice_document(ctx: RequestContext, invoice_id: UUID, format: str) -> str:
    """The invoice rendered as HTML or PDF, base64-encoded."""
    record = await invoice(ctx, invoice_id)
    if record.status == "draft":
        raise Conflict("a draft has no document; preview it instead")
    referenced = record.credit_note_for_id or record.replaces_id
    number = None
    if referenced is not None:
        other = await invoices.invoice_by_id(ctx.tx, referenced)
        number = other.number if other else None
    document = document_of(record, number)
    if format == "PDF":
        try:
            content = await asyncio.to_thread(render_pdf, document, ctx.invoice_font)
        except fonts.DocumentFontMissing as error:
            raise DocumentFontMissing(str(error)) from error
    else:
        content = render_html(document).encode()
    return base64.b64encode(content).decode()
