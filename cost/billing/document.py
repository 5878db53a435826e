"""An invoice as a document a customer receives: HTML (every value escaped) and PDF (fpdf2, core fonts).

Input is a plain :class:`InvoiceDocument` (the stored invoice, its party snapshots and lines), so rendering
needs no database. The PDF is written uncompressed: its text can be read back (and searched) as is.
Core PDF fonts cover Latin-1 only; other characters print as ``?`` in the PDF (the HTML keeps them).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cost.billing.money import minor_units

_KIND_TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}
_SECTION_TITLES = {
    "USAGE": "Usage by service",
    "CORRECTION": "Corrections",
    "CREDIT": "Credits",
    "FEE": "Fees",
    "TAX": "Tax",
}


@dataclass(frozen=True)
class DocumentLine:
    kind: str
    service: str | None
    description: str
    quantity: Decimal | None
    unit: str | None
    amount: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    number: int | None
    kind: str
    status: str
    period: str
    currency: str
    issued_at: datetime | None
    bill_from: Mapping[str, Any]
    bill_to: Mapping[str, Any]
    lines: tuple[DocumentLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    refers_to_number: int | None = None  # the invoice a credit note cancels, or the one a reissue replaces
    void_reason: str | None = None

    @property
    def title(self) -> str:
        return _KIND_TITLES.get(self.kind, "Invoice")

    @property
    def number_text(self) -> str:
        return "DRAFT" if self.number is None else f"{self.number:06d}"


def money(amount: Decimal, currency: str) -> str:
    digits = minor_units(currency)
    return f"{amount.quantize(Decimal(1).scaleb(-digits)):,.{digits}f} {currency}"


def _quantity(line: DocumentLine) -> str:
    if line.quantity is None:
        return ""
    return f"{line.quantity.normalize():f} {line.unit or ''}".strip()


def _sections(document: InvoiceDocument) -> list[tuple[str, list[DocumentLine]]]:
    out: list[tuple[str, list[DocumentLine]]] = []
    for kind, title in _SECTION_TITLES.items():
        lines = [x for x in document.lines if x.kind == kind]
        if lines:
            out.append((title, lines))
    return out


def _party(party: Mapping[str, Any]) -> list[str]:
    return [str(party.get(k) or "") for k in ("name", "address", "tax_id", "email") if party.get(k)]


def _facts(document: InvoiceDocument) -> list[tuple[str, str]]:
    facts = [
        (f"{document.title} number", document.number_text),
        ("Billing period", document.period),
        ("Currency", document.currency),
    ]
    if document.issued_at is not None:
        facts.append(("Issued", document.issued_at.date().isoformat()))
    if document.refers_to_number is not None:
        label = "Cancels invoice" if document.kind == "credit_note" else "Replaces invoice"
        facts.append((label, f"{document.refers_to_number:06d}"))
    if document.status == "void":
        facts.append(("Status", f"VOID ({document.void_reason or ''})"))
    return facts


def render_html(document: InvoiceDocument) -> str:
    e = html.escape
    cur = document.currency
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(document.title)} {e(document.number_text)} — {e(document.period)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}td.amount,th.amount{text-align:right}"
        ".parties{display:flex;gap:4em}</style>",
        "</head><body>",
        f"<h1>{e(document.title)} {e(document.number_text)}</h1>",
        '<div class="parties">',
        '<div class="from"><h2>From</h2>' + "<br>".join(e(x) for x in _party(document.bill_from)) + "</div>",
        '<div class="to"><h2>Bill to</h2>' + "<br>".join(e(x) for x in _party(document.bill_to)) + "</div>",
        "</div>",
        "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in _facts(document)) + "</dl>",
    ]
    for title, lines in _sections(document):
        parts.append(f"<h3>{e(title)}</h3><table><thead><tr><th>Service</th><th>Description</th>"
                     '<th>Quantity</th><th class="amount">Amount</th></tr></thead><tbody>')
        for line in lines:
            parts.append(
                f"<tr><td>{e(line.service or '')}</td><td>{e(line.description)}</td><td>{e(_quantity(line))}</td>"
                f'<td class="amount">{e(money(line.amount, cur))}</td></tr>'
            )
        parts.append("</tbody></table>")
    parts.append('<table class="totals"><tbody>')
    for label, amount in (("Subtotal", document.subtotal), ("Tax", document.tax), ("Total", document.total)):
        parts.append(f'<tr><th>{e(label)}</th><td class="amount">{e(money(amount, cur))}</td></tr>')
    parts.append("</tbody></table></body></html>")
    return "\n".join(parts)


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(document: InvoiceDocument) -> bytes:
    from fpdf import FPDF

    cur = document.currency
    pdf = FPDF(format="A4")
    pdf.set_compression(False)
    pdf.set_title(_latin1(f"{document.title} {document.number_text}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"{document.title} {document.number_text}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for heading, party in (("From", document.bill_from), ("Bill to", document.bill_to)):
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for text in _party(party):
            pdf.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for label, value in _facts(document):
        pdf.cell(0, 5, _latin1(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    widths = (45, 80, 30, 35)
    for title, lines in _sections(document):
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        for line in lines:
            cells = (line.service or "", line.description, _quantity(line), money(line.amount, cur))
            for i, (width, text) in enumerate(zip(widths, cells, strict=True)):
                pdf.cell(width, 5, _latin1(_fit(pdf, text, width)), align="R" if i == 3 else "L")
            pdf.ln(5)
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    for label, amount in (("Subtotal", document.subtotal), ("Tax", document.tax), ("Total", document.total)):
        pdf.cell(sum(widths[:3]), 6, label, align="R")
        pdf.cell(widths[3], 6, _latin1(money(amount, cur)), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _fit(pdf: Any, text: str, width: float) -> str:
    """Shorten `text` with an ellipsis to fit a cell of `width` mm."""
    text = _latin1(text)
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text + "..."
