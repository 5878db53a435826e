"""Invoices: preview (a recomputed draft, nothing stored), close, close every billed tenant, void, read.

Closing one (tenant, period) is one transaction of the acting billing admin: an advisory lock on (tenant,
period) serialises concurrent closes, the unique index on closed invoices is the backstop, the draft and its
lines are written and closed inside a savepoint (the trigger numbers it from the operator's counter), and the
operator's period is locked against further imports. Anything that fails rolls all of it back: no header
without lines, no consumed number. :func:`close_for` is what GraphQL, the job and the CLI all call.

Billing groups come from the account assignment history; an account's first assignment also covers the time
before it (cost data imported for months before an account was assigned belongs to its first tenant).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cost import CostStore
from cost.billing import (
    Assignment,
    BillingError,
    BillingGroups,
    CustomItem,
    ExchangeRates,
    InvoiceDraft,
    PlanVersion,
    PricingPlan,
    compute_invoice,
    fonts,
    margin_report,
    rows_for_tenant,
)
from cost.billing.definitions import plan_from_json
from cost.billing.document import InvoiceDocument, lines_of, render_html, render_pdf
from cost.billing.tax import TaxPolicy
from cost.columns import SCHEMA
from cost.rows import read_rows
from cost.scope import AccountScope
from db.billing_records import CustomerBillingRecord, InvoiceRecord, InvoiceRunRecord
from db.errors import PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import billing, costs, invoices, tenancy
from db.records import TenantRecord
from db.session import Database, DbContext, RequestTransaction
from policies.principal import Role, TenantKind
from resolvers.billing import invoice_details
from resolvers.common.amounts import period_of
from resolvers.common.budget import charged
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.costs.imports import require_store
from resolvers.tenancy.companies import audit_granted_reads

BILLING_ADMINS = frozenset({Role.BILLING_ADMIN})
# Rating needs every column but the tags (the heaviest one).
RATING_COLUMNS = tuple(n for n in SCHEMA.names if n != "Tags")
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

_logger = logging.getLogger("roundpool.invoices")


class InvoiceAlreadyClosed(Conflict):
    def __init__(self, invoice: InvoiceRecord) -> None:
        super().__init__(f"invoice {invoice.number} already closes {invoice.period} for this tenant")
        self.invoice = invoice


class DocumentFontMissing(ApiError):
    """No font on the server covers the document's text (the message names the setting that fixes it)."""

    code = "DOCUMENT_FONT_MISSING"


class PeriodHasNoData(ApiError):
    code = "CONFLICT"

    def __init__(self, tenant_slug: str, period: str) -> None:
        super().__init__(f"{tenant_slug} has no cost data in {period}")
        self.tenant_slug = tenant_slug
        self.period = period


@dataclass(frozen=True)
class BillingSetup:
    """Everything :func:`cost.billing.compute_invoice` needs for one tenant and period, read under RLS."""

    customer: TenantRecord
    settings: CustomerBillingRecord
    plan: PlanVersion
    fx: ExchangeRates
    tax: TaxPolicy
    items: tuple[CustomItem, ...]
    groups: BillingGroups
    scope: AccountScope


@dataclass(frozen=True)
class Preview:
    customer: TenantRecord
    draft: InvoiceDraft


@dataclass(frozen=True)
class Voided:
    voided: InvoiceRecord
    credit_note: InvoiceRecord
    reissued: InvoiceRecord | None


@dataclass
class CloseSummary:
    period: str
    total: int = 0
    closed: int = 0
    already_closed: int = 0
    no_data: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] | None = None
    invoice_totals: dict[str, tuple[int | None, str, Decimal]] | None = None  # slug → (number, currency, total)


def billing_groups(history: Sequence[Any]) -> BillingGroups:
    assignments, seen = [], set()
    for row in history:
        start = row.valid_from if row.account_id in seen else _BEGINNING
        seen.add(row.account_id)
        assignments.append(Assignment(row.account_id, str(row.tenant_id), start, row.valid_to))
    return BillingGroups(assignments)


async def billed_customer(tx: RequestTransaction, slug: str) -> TenantRecord:
    tenant = await tenancy.tenant_by_slug(tx, slug)
    if tenant is None or not await costs.is_billed_tenant(tx, tenant.id):
        raise NotFound(f"your operator bills no tenant {slug!r}")
    return tenant


async def billing_setup(tx: RequestTransaction, customer: TenantRecord, period: str) -> BillingSetup:
    settings = (await billing.customer_billing_of(tx, [customer.id])).get(customer.id)
    if settings is None or settings.plan_id is None:
        raise InvalidInput(f"{customer.slug} has no pricing plan; assign one first", field="tenantSlug")
    versions = await billing.plan_versions(tx, [settings.plan_id])
    try:
        plan = PricingPlan(
            id=str(settings.plan_id),
            name="",
            versions=tuple(plan_from_json(v.definition, id=str(v.id), valid_from=v.valid_from) for v in versions),
        ).version_for(period)
        plan = replace(plan, currency=settings.currency)
        rates = await billing.rates_for(tx, settings.operator_id, period)
        fx = ExchangeRates({period: rates} if rates else {})
        issuer = await billing.issuer_of(tx, settings.operator_id)
        tax = invoice_details.tax_policy(issuer, settings, await billing.tax_rates_of(tx, settings.operator_id), period)
        items = tuple(
            CustomItem(
                description=i.description,
                kind=i.kind,
                amount_type=i.amount_type,
                value=Decimal(i.value),
                period=i.period,
                recurrence=i.recurrence,
                until=i.until,
                currency=i.currency,
                tax_category=i.tax_category,
            )
            for i in await billing.custom_items_of(tx, customer.id)
        )
    except BillingError as error:
        raise InvalidInput(f"billing settings of {customer.slug}: {error}", field="tenantSlug") from error
    history = await billing.assignment_history(tx, [customer.id])
    return BillingSetup(
        customer=customer,
        settings=settings,
        plan=plan,
        fx=fx,
        tax=tax,
        items=items,
        groups=billing_groups(history),
        scope=await costs.visible_account_scope(tx, [customer.id]),
    )


async def compute_draft(tx: RequestTransaction, store: CostStore, customer: TenantRecord, period: str) -> InvoiceDraft:
    """The tenant's invoice for the period as it would close now (raises :class:`PeriodHasNoData`)."""
    setup = await billing_setup(tx, customer, period)

    def work() -> InvoiceDraft | None:
        # Rows overlapping the customer's intervals; the billing groups split those that cross a boundary.
        rows = read_rows(store, setup.scope, period, columns=RATING_COLUMNS, overlapping=True)
        mine = rows_for_tenant(rows, setup.groups, str(customer.id))
        if mine.num_rows == 0:
            return None
        return compute_invoice(
            mine, setup.plan, None, setup.fx, setup.tax, setup.items, period, tenant_id=str(customer.id)
        )

    try:
        draft = await asyncio.to_thread(work)
    except BillingError as error:
        raise InvalidInput(f"cannot compute the invoice of {customer.slug}: {error}", field="period") from error
    if draft is None:
        raise PeriodHasNoData(customer.slug, period)
    return draft


async def _parties(tx: RequestTransaction, customer: TenantRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    operator_id = customer.operator_id
    assert operator_id is not None
    operator = (await tenancy.tenants_by_ids(tx, [operator_id]) or [None])[0]
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


async def _issue(
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


def _lines_of(draft: InvoiceDraft) -> list[dict[str, Any]]:
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


async def _terms(tx: RequestTransaction, customer: TenantRecord, draft: InvoiceDraft) -> dict[str, Any]:
    """The invoice's payment terms and details as they are now (frozen on the draft, due date set at close)."""
    assert customer.operator_id is not None
    issuer = await billing.issuer_of(tx, customer.operator_id)
    settings = (await billing.customer_billing_of(tx, [customer.id])).get(customer.id)
    rates = await billing.rate_records_for(tx, customer.operator_id, draft.period)
    return {
        "payment_terms_days": invoice_details.payment_terms(issuer, settings),
        "details": invoice_details.details_of(draft, issuer, rates),
    }


def _header_of(draft: InvoiceDraft, bill_from: dict[str, Any], bill_to: dict[str, Any]) -> dict[str, Any]:
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
    bill_from, bill_to = await _parties(tx, customer)
    header = {
        **_header_of(draft, bill_from, bill_to),
        **await _terms(tx, customer, draft),
        "idempotency_key": idempotency_key,
    }
    try:
        async with tx.savepoint():
            record = await _issue(tx, customer, header, _lines_of(draft))
            await invoices.lock_period(tx, operator_id, period, f"invoice {record.number} closed")
    except UniqueViolation:
        existing = await invoices.closed_invoice_for(tx, customer.id, period)
        if existing is None:
            raise
        raise InvoiceAlreadyClosed(existing) from None
    except PolicyViolation as error:
        raise Forbidden("only the operator's billing admins close its customers' invoices") from error
    return record


def _admin(ctx: RequestContext) -> None:
    ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)


async def preview_invoice(ctx: RequestContext, tenant_slug: str, period: str) -> Preview:
    _admin(ctx)
    store = require_store(ctx)
    period = period_of(period)
    customer = await billed_customer(ctx.tx, tenant_slug)
    return Preview(customer, await compute_draft(ctx.tx, store, customer, period))


async def close_invoice(
    ctx: RequestContext, tenant_slug: str, period: str, idempotency_key: str | None
) -> InvoiceRecord:
    _admin(ctx)
    store = require_store(ctx)
    period = period_of(period)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidInput("an idempotency key has 1 to 200 characters", field="idempotencyKey")
    customer = await billed_customer(ctx.tx, tenant_slug)
    return await close_for(ctx.tx, store, customer, period, idempotency_key)


async def void_invoice(ctx: RequestContext, invoice_id: UUID, reason: str) -> Voided:
    """closed → void, with a credit note (negated lines, its own number) and a reissued invoice recomputed
    from current data (none when the period has no data any more), in one transaction."""
    _admin(ctx)
    store = require_store(ctx)
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidInput("give a reason (1 to 1000 characters)", field="reason")
    tx = ctx.tx
    original = await invoices.invoice_by_id(tx, invoice_id)
    if original is None or not await costs.is_billed_tenant(tx, original.tenant_id):
        raise NotFound(f"no invoice {invoice_id} of a tenant your operator bills")
    await invoices.lock_tenant_period(tx, original.tenant_id, original.period)
    original = await invoices.invoice_by_id(tx, invoice_id)
    assert original is not None
    if original.kind != "invoice" or original.status != "closed":
        raise Conflict(f"only a closed invoice can be voided; this is a {original.status} {original.kind}")
    customer = (await tenancy.tenants_by_ids(tx, [original.tenant_id]))[0]
    try:
        draft: InvoiceDraft | None = await compute_draft(tx, store, customer, original.period)
    except PeriodHasNoData:
        draft = None
    bill_from, bill_to = await _parties(tx, customer)
    try:
        async with tx.savepoint():
            voided = await invoices.set_status(tx, customer.id, original.id, "void", reason)
            assert voided is not None
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
            credit = await _issue(
                tx,
                customer,
                {
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
                },
                credit_lines,
            )
            reissued = None
            if draft is not None:
                header = {
                    **_header_of(draft, bill_from, bill_to),
                    **await _terms(tx, customer, draft),
                    "replaces_id": original.id,
                }
                reissued = await _issue(tx, customer, header, _lines_of(draft))
    except PolicyViolation as error:
        raise Forbidden("only the operator's billing admins void its customers' invoices") from error
    return Voided(voided=voided, credit_note=credit, reissued=reissued)


# -- reads ----------------------------------------------------------------------------------------------------


async def invoice(ctx: RequestContext, invoice_id: UUID) -> InvoiceRecord:
    ctx.require_tenant()
    record = await invoices.invoice_by_id(ctx.tx, invoice_id)
    if record is None:
        raise NotFound(f"no invoice {invoice_id} is visible to you")
    await audit_granted_reads(ctx, _granted([record.tenant_id], ctx), "invoices", "invoices")
    return record


def _granted(tenant_ids: Sequence[UUID], ctx: RequestContext) -> list[UUID]:
    acting = ctx.require_tenant()
    if acting.kind is TenantKind.OPERATOR:  # billed tenants are read through the operator relation, not a grant
        return []
    return list(tenant_ids)


async def invoice_list(
    ctx: RequestContext, tenant_slug: str | None, period: str | None, status: str | None, page: PageRequest
) -> Page[InvoiceRecord]:
    acting = ctx.require_tenant()
    if period is not None:
        period = period_of(period)
    if tenant_slug is None:
        tenant_ids = None if acting.role is Role.BILLING_ADMIN else [acting.id]
    else:
        tenant = await tenancy.tenant_by_slug(ctx.tx, tenant_slug)
        if tenant is None:
            raise NotFound(f"no tenant {tenant_slug!r} is visible to you")
        tenant_ids = [tenant.id]
    result = await invoices.invoices_page(ctx.tx, tenant_ids, period, status, page)
    await audit_granted_reads(ctx, _granted([r.tenant_id for r in result.items], ctx), "invoices", "invoices")
    return result


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


# -- margins --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginLine:
    tenant: TenantRecord | None
    service: str | None
    currency: str
    billed: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.billed - self.cost


@charged("margins")
async def margins(ctx: RequestContext, period: str, group_by: Sequence[str]) -> list[MarginLine]:
    """Billed (rated, before invoice rounding and fees) against the operator's amortised cost, in the rows'
    currency, for every tenant the operator bills that has a plan; grouped by TENANT and/or SERVICE."""
    _admin(ctx)
    store = require_store(ctx)
    period = period_of(period)
    tx = ctx.tx
    billed = await tenancy.tenants_by_ids(tx, await billing.billed_tenant_ids(tx))
    by_id = {t.id: t for t in billed}
    plans: dict[str, PlanVersion] = {}
    for tenant in billed:
        try:
            plans[str(tenant.id)] = (await billing_setup(tx, tenant, period)).plan
        except InvalidInput:
            continue  # no plan (or none in force): it bills nothing
    history = await billing.assignment_history(tx, list(by_id))
    groups, scope = billing_groups(history), await costs.visible_account_scope(tx, list(by_id))

    def work() -> list[Any]:
        rows = read_rows(store, scope, period, columns=RATING_COLUMNS, overlapping=True)
        return margin_report(rows, groups, plans)

    try:
        rows = await asyncio.to_thread(work)
    except BillingError as error:
        raise InvalidInput(str(error), field="period") from error
    keys = set(group_by)
    totals: dict[tuple[UUID | None, str | None, str], list[Decimal]] = {}
    for row in rows:
        key = (
            UUID(row.tenant_id) if "TENANT" in keys else None,
            row.service if "SERVICE" in keys else None,
            row.currency,
        )
        pair = totals.setdefault(key, [Decimal(0), Decimal(0)])
        pair[0] += row.billed
        pair[1] += row.cost
    return [
        MarginLine(by_id.get(t) if t else None, s, c, b, k)
        for (t, s, c), (b, k) in sorted(totals.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or "", kv[0][2]))
    ]


# -- closing every billed tenant ----------------------------------------------------------------------------

Progress = Callable[[CloseSummary], Awaitable[None] | None]


def run_key(run_id: UUID, tenant_id: UUID) -> str:
    """The idempotency key of the invoice a close-all run issues for a tenant: a resumed run finds it again."""
    return f"invoice-run:{run_id}:{tenant_id}"


async def close_all(
    database: Database,
    store: CostStore,
    context: DbContext,
    period: str,
    *,
    run_id: UUID | None = None,
    on_progress: Progress | None = None,
    resume: bool = False,
) -> CloseSummary:
    """Close `period` for every tenant the context's operator bills: one transaction per invoice (a failure
    affects that tenant only), progress counted in the run row in the same transaction.

    `resume` (the run's job was retried after its worker died): the running run is claimed again and counted
    from zero; the invoices its earlier attempt issued are found by their :func:`run_key`."""
    period = period_of(period)
    summary = CloseSummary(period=period, errors=[], invoice_totals={})
    async with database.transaction(context) as tx:
        ids = await billing.billed_tenant_ids(tx)
        customers = sorted(await tenancy.tenants_by_ids(tx, ids), key=lambda t: t.slug)
        if run_id is not None:
            claimed = await invoices.claim_run(tx, run_id, len(customers), resume=resume)
            if claimed is None:
                raise Forbidden(f"invoice run {run_id} is not queued or not visible to its requester")
    summary.total = len(customers)
    for customer in customers:
        column, error = "closed", None
        try:
            async with database.transaction(context) as tx:
                try:
                    key = None if run_id is None else run_key(run_id, customer.id)
                    record = await close_for(tx, store, customer, period, key)
                    assert summary.invoice_totals is not None
                    summary.invoice_totals[customer.slug] = (record.number, record.currency, record.total)
                except InvoiceAlreadyClosed:
                    column = "already_closed"
                except PeriodHasNoData:
                    column = "no_data"
                except ApiError as problem:
                    column, error = "failed", {"tenant": customer.slug, "reason": problem.message}
                if run_id is not None:
                    await invoices.count_run_outcome(tx, run_id, column, error)
        except Exception:  # the tenant's transaction rolled back; count it in a new one
            _logger.exception("closing %s for %s failed", period, customer.slug)
            column, error = "failed", {"tenant": customer.slug, "reason": "internal error; see the log"}
            if run_id is not None:
                async with database.transaction(context) as tx:
                    await invoices.count_run_outcome(tx, run_id, column, error)
        setattr(summary, column, getattr(summary, column) + 1)
        if error is not None:
            assert summary.errors is not None
            summary.errors.append(error)
        if on_progress is not None:
            result = on_progress(summary)
            if result is not None:
                await result
    if run_id is not None:
        async with database.transaction(context) as tx:
            await invoices.update_run(tx, run_id, status="succeeded", finished_at=datetime.now(UTC))
    return summary


async def invoice_run(ctx: RequestContext, run_id: UUID) -> InvoiceRunRecord:
    _admin(ctx)
    record = await invoices.run_by_id(ctx.tx, run_id)
    if record is None:
        raise NotFound(f"no invoice run {run_id} is visible to you")
    return record
