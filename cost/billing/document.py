"""An invoice as a document a customer receives: HTML (every value escaped) and PDF (fpdf2, an embedded
Unicode font from :mod:`cost.billing.fonts`), the same content in both.

Input is a plain :class:`InvoiceDocument` (the stored invoice, its party snapshots, lines and the details
captured at close), so rendering needs no database. A Japanese issuer's documents carry Japanese labels
beside the English ones, and a registered issuer's invoice is a qualified invoice (適格請求書): registration
number, transaction period, recipient, totals and consumption tax per rate, reduced-rate items marked ※.

The PDF repeats the table header and the document's identity on every page, numbers its pages ("Page 2 of
3"), wraps long names instead of cutting them, and keeps the totals block on one page. It is written
uncompressed, so its text can be read back.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from cost.billing.fonts import find_font
from cost.billing.invoice import LineKind
from cost.billing.money import minor_units

_SECTIONS = (LineKind.USAGE, LineKind.CORRECTION, LineKind.CREDIT, LineKind.FEE, LineKind.TAX)
# key → (English, Japanese)
_LABELS: dict[str, tuple[str, str]] = {
    "invoice": ("Invoice", "請求書"),
    "qualified": ("Qualified invoice", "適格請求書"),
    "credit_note": ("Credit note", "返還請求書"),
    "from": ("From", "発行者"),
    "to": ("Bill to", "請求先"),
    "number": ("Number", "請求書番号"),
    "issued": ("Issue date", "発行日"),
    "period": ("Transaction period", "取引期間"),
    "due": ("Due date", "支払期日"),
    "terms": ("Payment terms", "支払条件"),
    "currency": ("Currency", "通貨"),
    "registration": ("Registration No.", "登録番号"),
    "tax_id": ("Tax ID", "税務番号"),
    "customer_tax_id": ("Customer tax ID", "顧客税務番号"),
    "USAGE": ("Usage by service", "ご利用明細"),
    "CORRECTION": ("Corrections", "訂正"),
    "CREDIT": ("Credits", "クレジット"),
    "FEE": ("Fees", "手数料"),
    "TAX": ("Tax", "税"),
    "description": ("Description", "内容"),
    "quantity": ("Quantity", "数量"),
    "rate": ("Tax rate", "税率"),
    "amount": ("Amount", "金額"),
    "subtotal": ("Subtotal", "小計"),
    "taxable": ("taxable", "対象"),
    "tax": ("Tax", "消費税"),
    "total": ("Total", "合計"),
    "payment": ("Payment details", "お振込先"),
    "reduced": ("※ reduced-rate item", "※は軽減税率対象"),
    "out_of_scope": ("Not subject to consumption tax", "不課税取引"),
    "fx": ("Exchange rate", "為替レート"),
    "cancels": ("Cancels invoice", "取消対象の請求書"),
    "replaces": ("Replaces invoice", "差し替え前の請求書"),
    "void": ("VOID", "無効"),
    "page": ("Page", "ページ"),
}


@dataclass(frozen=True)
class DocumentLine:
    kind: LineKind
    service: str | None
    description: str
    quantity: Decimal | None
    unit: str | None
    amount: Decimal
    tax_rate_percent: Decimal | None = None
    tax_category: str | None = None


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
    due_date: date | None = None
    payment_terms_days: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def japanese(self) -> bool:
        return self.details.get("jurisdiction") == "JP"

    @property
    def reverse_charge(self) -> bool:
        return bool(self.details.get("reverse_charge"))

    @property
    def qualified(self) -> bool:
        """A qualified invoice states consumption tax per rate; a supply outside its scope has none to state."""
        return bool(self.details.get("qualified")) and self.kind == "invoice" and not self.reverse_charge

    def label(self, key: str) -> str:
        english, japanese = _LABELS[key]
        return f"{japanese} {english}" if self.japanese else english

    @property
    def title(self) -> str:
        if self.kind == "credit_note":
            return self.label("credit_note")
        return self.label("qualified" if self.qualified else "invoice")

    @property
    def number_text(self) -> str:
        return "DRAFT" if self.number is None else f"{self.number:06d}"

    @property
    def reduced_categories(self) -> frozenset[str]:
        return frozenset(b["category"] for b in self.details.get("tax_breakdown", ()) if b.get("reduced"))


def money(amount: Decimal, currency: str) -> str:
    digits = minor_units(currency)
    return f"{amount.quantize(Decimal(1).scaleb(-digits)):,.{digits}f} {currency}"


def _quantity(line: DocumentLine) -> str:
    if line.quantity is None:
        return ""
    return f"{line.quantity.normalize():,f} {line.unit or ''}".strip()


def _rate(line: DocumentLine, document: InvoiceDocument) -> str:
    if line.tax_rate_percent is None or line.kind is LineKind.TAX or document.reverse_charge:
        return ""
    mark = " ※" if line.tax_category in document.reduced_categories else ""
    return f"{Decimal(line.tax_rate_percent).normalize():f} %{mark}"


@dataclass(frozen=True)
class _Row:
    text: str
    quantity: str = ""
    rate: str = ""
    amount: str = ""
    heading: bool = False  # a service name above its usage types, or a section title


def _rows(document: InvoiceDocument) -> list[_Row]:
    """The table as a customer reads it: section, then service, then its usage types."""
    cur = document.currency
    rows: list[_Row] = []
    for kind in _SECTIONS:
        lines = [x for x in document.lines if x.kind == kind]
        if not lines:
            continue
        rows.append(_Row(document.label(kind), heading=True))
        service: str | None = None
        for line in lines:
            if kind is LineKind.USAGE and line.service and line.service != service:
                service = line.service
                subtotal = sum((x.amount for x in lines if x.service == service), Decimal(0))
                rows.append(_Row(service, amount=money(subtotal, cur), heading=True))
            text = f"  {line.description}" if kind is LineKind.USAGE and line.service else line.description
            if kind is not LineKind.USAGE and line.service and line.service not in line.description:
                text = f"{line.description} — {line.service}"
            rows.append(_Row(text, _quantity(line), _rate(line, document), money(line.amount, cur)))
    return rows


def _party(document: InvoiceDocument, party: Mapping[str, Any], *, recipient: bool) -> list[str]:
    out = []
    name = str(party.get("name") or "")
    if name:
        out.append(f"{name} 御中" if recipient and document.japanese else name)
    if party.get("address"):
        out.extend(str(party["address"]).splitlines())
    if party.get("registration_number"):
        out.append(f"{document.label('registration')}: {party['registration_number']}")
    if party.get("tax_id"):
        out.append(f"{document.label('customer_tax_id' if recipient else 'tax_id')}: {party['tax_id']}")
    if party.get("email"):
        out.append(str(party["email"]))
    return out


def _facts(document: InvoiceDocument) -> list[tuple[str, str]]:
    period = document.details.get("transaction_period") or {}
    facts = [
        (document.label("number"), document.number_text),
        (document.label("period"), f"{period['start']} – {period['end']}" if period else document.period),
        (document.label("currency"), document.currency),
    ]
    if document.issued_at is not None:
        facts.append((document.label("issued"), document.issued_at.date().isoformat()))
    if document.due_date is not None:
        facts.append((document.label("due"), document.due_date.isoformat()))
    if document.payment_terms_days is not None and document.kind == "invoice":
        facts.append((document.label("terms"), f"Net {document.payment_terms_days} days"))
    if document.refers_to_number is not None:
        key = "cancels" if document.kind == "credit_note" else "replaces"
        facts.append((document.label(key), f"{document.refers_to_number:06d}"))
    if document.status == "void":
        facts.append(("Status", f"{document.label('void')} ({document.void_reason or ''})"))
    return facts


def _totals(document: InvoiceDocument) -> list[tuple[str, str]]:
    cur = document.currency
    out = [(document.label("subtotal"), money(document.subtotal, cur))]
    if document.reverse_charge:  # no rate applies: the note says why
        taxable = sum((Decimal(b["taxable"]) for b in document.details.get("tax_breakdown", ())), Decimal(0))
        return [
            *out,
            (document.label("out_of_scope"), money(taxable, cur)),
            (document.label("tax"), money(document.tax, cur)),
            (document.label("total"), money(document.total, cur)),
        ]
    for b in document.details.get("tax_breakdown", ()):
        rate = f"{b['rate_percent']}%{' ※' if b.get('reduced') else ''}"
        out.append((f"{rate} {document.label('taxable')}", money(Decimal(b["taxable"]), cur)))
        out.append((f"{rate} {document.label('tax')}", money(Decimal(b["tax"]), cur)))
    out.append((document.label("tax"), money(document.tax, cur)))
    out.append((document.label("total"), money(document.total, cur)))
    return out


def _notes(document: InvoiceDocument) -> list[str]:
    notes = []
    if any(x.tax_category in document.reduced_categories for x in document.lines):
        notes.append(document.label("reduced"))
    for fx in document.details.get("exchange_rates", ()):
        if fx.get("rate") is None:
            continue
        when = f"rate of {fx['date']}" if fx.get("date") else f"rate for {document.period}"
        source = f", source: {fx['source']}" if fx.get("source") else ""
        notes.append(
            f"{document.label('fx')}: {fx['from']} amounts converted at 1 {fx['from']} = {fx['rate']} {fx['to']}"
            f" ({when}{source})."
        )
    if document.details.get("reverse_charge") and document.details.get("reverse_charge_note"):
        notes.append(str(document.details["reverse_charge_note"]))
    return notes


def _payment(document: InvoiceDocument) -> list[str]:
    details = str(document.details.get("payment_details") or "")
    return details.splitlines() if details and document.kind == "invoice" else []


def document_text(document: InvoiceDocument) -> str:
    """Every string the document shows (what its font has to cover)."""
    parts = [document.title, *(_LABELS[k][1] for k in _LABELS if document.japanese)]
    parts += _party(document, document.bill_from, recipient=False) + _party(document, document.bill_to, recipient=True)
    parts += [f"{k} {v}" for k, v in _facts(document) + _totals(document)]
    parts += [f"{r.text} {r.quantity} {r.rate} {r.amount}" for r in _rows(document)]
    parts += _notes(document) + _payment(document)
    return "\n".join(parts)


def render_html(document: InvoiceDocument) -> str:
    e = html.escape
    lang = "ja" if document.japanese else "en"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{e(document.title)} {e(document.number_text)} — {e(document.period)}</title>",
        "<style>body{font-family:'Noto Sans CJK JP','IPAGothic',sans-serif;margin:2em}"
        "table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}td.amount,th.amount{text-align:right}tr.heading td{font-weight:bold}"
        ".parties{display:flex;gap:4em}</style>",
        "</head><body>",
        f"<h1>{e(document.title)} {e(document.number_text)}</h1>",
        '<div class="parties">',
        f'<div class="from"><h2>{e(document.label("from"))}</h2>'
        + "<br>".join(e(x) for x in _party(document, document.bill_from, recipient=False))
        + "</div>",
        f'<div class="to"><h2>{e(document.label("to"))}</h2>'
        + "<br>".join(e(x) for x in _party(document, document.bill_to, recipient=True))
        + "</div>",
        "</div>",
        "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in _facts(document)) + "</dl>",
        f'<table class="lines"><thead><tr><th>{e(document.label("description"))}</th>'
        f"<th>{e(document.label('quantity'))}</th><th>{e(document.label('rate'))}</th>"
        f'<th class="amount">{e(document.label("amount"))}</th></tr></thead><tbody>',
    ]
    for row in _rows(document):
        css = ' class="heading"' if row.heading else ""
        parts.append(
            f"<tr{css}><td>{e(row.text)}</td><td>{e(row.quantity)}</td><td>{e(row.rate)}</td>"
            f'<td class="amount">{e(row.amount)}</td></tr>'
        )
    parts.append('</tbody></table><table class="totals"><tbody>')
    for label, amount in _totals(document):
        parts.append(f'<tr><th>{e(label)}</th><td class="amount">{e(amount)}</td></tr>')
    parts.append("</tbody></table>")
    for note in _notes(document):
        parts.append(f'<p class="note">{e(note)}</p>')
    payment = _payment(document)
    if payment:
        parts.append(
            f'<h3>{e(document.label("payment"))}</h3><p class="payment">' + "<br>".join(e(x) for x in payment) + "</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


_WIDTHS = (72, 60, 22, 36)  # mm: description, quantity, tax rate, amount (A4 less 10 mm margins)
_FAMILY = "InvoiceFont"


def render_pdf(document: InvoiceDocument, font_path: Path | None = None) -> bytes:
    """Raises :class:`~cost.billing.fonts.DocumentFontMissing` when no font covers the document's text."""
    from fpdf import FPDF

    font = find_font(document_text(document), font_path)
    identity = f"{document.title} {document.number_text} · {document.bill_from.get('name') or ''} · {document.period}"

    class _Pdf(FPDF):
        def header(self) -> None:
            if self.page_no() > 1:
                self.set_font(_FAMILY, "", 8)
                self.cell(0, 5, identity, new_x="LMARGIN", new_y="NEXT")
                self.ln(2)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(_FAMILY, "", 8)
            self.cell(0, 5, f"{document.label('page')} {self.page_no()} / {{nb}}", align="C")

    pdf = _Pdf(format="A4")
    pdf.set_compression(False)
    pdf.set_margins(10, 12, 10)
    pdf.set_auto_page_break(True, margin=16)
    for style in ("", "B"):
        pdf.add_font(_FAMILY, style, str(font.path), collection_font_number=font.collection_index)
    pdf.set_title(f"{document.title} {document.number_text}")
    pdf.add_page()
    pdf.set_font(_FAMILY, "B", 16)
    pdf.multi_cell(0, 9, f"{document.title} {document.number_text}", new_x="LMARGIN", new_y="NEXT")
    top = pdf.get_y() + 2
    for x, key, party, recipient in ((10, "from", document.bill_from, False), (105, "to", document.bill_to, True)):
        pdf.set_xy(x, top)
        pdf.set_font(_FAMILY, "B", 10)
        pdf.cell(95, 6, document.label(key), new_x="LEFT", new_y="NEXT")
        pdf.set_font(_FAMILY, "", 9)
        for text in _party(document, party, recipient=recipient):
            pdf.multi_cell(93, 5, text, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(10, max(pdf.get_y(), top + 30) + 3)
    pdf.set_font(_FAMILY, "", 9)
    for label, value in _facts(document):
        pdf.cell(58, 5, label)
        pdf.multi_cell(0, 5, value, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _table(pdf, document)
    _totals_block(pdf, document)
    return bytes(pdf.output())


_LINE = 4.2  # mm per line of table text
_ALIGN = ("L", "R", "R", "R")


def _cells(row: _Row) -> tuple[str, str, str, str]:
    return row.text, row.quantity, row.rate, row.amount


def _row_height(pdf: Any, texts: Sequence[str]) -> float:
    lines = max(
        len(pdf.multi_cell(w, _LINE, t, dry_run=True, output="LINES")) for w, t in zip(_WIDTHS, texts, strict=True)
    )
    return lines * _LINE + 0.8


def _draw_row(pdf: Any, texts: Sequence[str], *, bold: bool) -> None:
    pdf.set_font(_FAMILY, "B" if bold else "", 8.5)
    height = _row_height(pdf, texts)
    x, y = pdf.l_margin, pdf.get_y()
    for width, text, align in zip(_WIDTHS, texts, _ALIGN, strict=True):
        pdf.set_xy(x, y + 0.4)
        pdf.multi_cell(width, _LINE, text, align=align)
        x += width
    pdf.set_draw_color(200)
    pdf.line(pdf.l_margin, y + height, pdf.l_margin + sum(_WIDTHS), y + height)
    pdf.set_xy(pdf.l_margin, y + height)


def _table(pdf: Any, document: InvoiceDocument) -> None:
    """The lines, drawn row by row so that page breaks fall where a reader expects them: the column headings
    repeat on every page, a section or service heading stays with its first line, and the last section
    (the tax) stays with the totals."""
    headings = tuple(document.label(k) for k in ("description", "quantity", "rate", "amount"))
    rows = _rows(document)
    pdf.set_font(_FAMILY, "", 8.5)
    heights = [_row_height(pdf, _cells(r)) for r in rows]
    last_section = max((i for i, r in enumerate(rows) if r.heading and r.amount == ""), default=len(rows))
    _draw_row(pdf, headings, bold=True)
    for i, row in enumerate(rows):
        keep = heights[i]
        if row.heading:  # with every heading below it and the first line
            j = i
            while j + 1 < len(rows) and rows[j].heading:
                j += 1
                keep += heights[j]
        if i == last_section:
            keep = sum(heights[i:]) + _totals_height(pdf, document)
        if pdf.will_page_break(keep):
            pdf.add_page()
            _draw_row(pdf, headings, bold=True)
        _draw_row(pdf, _cells(row), bold=row.heading)


def _totals_height(pdf: Any, document: InvoiceDocument) -> float:
    notes = _notes(document)
    pdf.set_font(_FAMILY, "", 8.5)
    note_lines = sum(len(pdf.multi_cell(0, 4.6, n, dry_run=True, output="LINES")) for n in notes)
    pdf.set_font(_FAMILY, "", 9)
    payment = sum(len(pdf.multi_cell(0, 5, p, dry_run=True, output="LINES")) for p in _payment(document))
    return 3 + 6 * len(_totals(document)) + 4.6 * note_lines + len(notes) + (7 + 5 * payment if payment else 0)


def _totals_block(pdf: Any, document: InvoiceDocument) -> None:
    totals, notes, payment = _totals(document), _notes(document), _payment(document)
    if pdf.will_page_break(_totals_height(pdf, document)):  # one block: totals, notes, payment details
        pdf.add_page()
    pdf.ln(3)
    for i, (label, amount) in enumerate(totals):
        last = i == len(totals) - 1
        pdf.set_font(_FAMILY, "B" if last else "", 11 if last else 9)
        pdf.cell(sum(_WIDTHS[:3]), 6, label, align="R")
        pdf.cell(_WIDTHS[3], 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FAMILY, "", 8.5)
    for note in notes:
        pdf.ln(1)
        pdf.multi_cell(0, 4.6, note, align="L", new_x="LMARGIN", new_y="NEXT")
    if payment:
        pdf.ln(2)
        pdf.set_font(_FAMILY, "B", 9)
        pdf.cell(0, 5, document.label("payment"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FAMILY, "", 9)
        for text in payment:
            pdf.multi_cell(0, 5, text, align="L", new_x="LMARGIN", new_y="NEXT")


class StoredLine(Protocol):
    """What a stored invoice line gives a document (db.billing_records.InvoiceLineRecord)."""

    @property
    def kind(self) -> str: ...
    @property
    def service(self) -> str | None: ...
    @property
    def description(self) -> str: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def tax_rate_percent(self) -> Decimal | None: ...
    @property
    def tax_category(self) -> str | None: ...


def lines_of(rows: Sequence[StoredLine]) -> tuple[DocumentLine, ...]:
    """Stored line records → document lines."""
    return tuple(
        DocumentLine(
            LineKind(r.kind),
            r.service,
            r.description,
            r.quantity,
            r.unit,
            Decimal(r.amount),
            None if r.tax_rate_percent is None else Decimal(r.tax_rate_percent),
            r.tax_category,
        )
        for r in rows
    )
