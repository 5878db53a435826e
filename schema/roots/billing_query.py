"""Queries of the billing domain: invoice previews, invoices and their documents, runs, margins, plans."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from db.billing_records import InvoiceStatus
from resolvers.billing import customers, documents, drafts, plans, reads, runs
from resolvers.billing import margins as billing_margins
from resolvers.common import cursors
from resolvers.common.context import RequestContext
from resolvers.common.pages import page_request
from resolvers.global_ids import decode_global_id
from schema.types.billing import (
    CustomerBilling,
    DocumentFormat,
    Invoice,
    InvoicePreview,
    InvoiceRun,
    MarginGroupBy,
    MarginRow,
    PricingPlan,
)
from schema.types.pagination import Connection, connection

Ctx = Info[RequestContext, None]


@strawberry.type
class BillingQuery:
    @strawberry.field(
        description="The invoice of a tenant your operator bills, as it would close now (billing admins). "
        "Recomputed from the current data on every request; nothing is stored."
    )
    async def preview_invoice(self, info: Ctx, tenant_slug: str, period: str) -> InvoicePreview | None:
        preview = await drafts.preview_invoice(info.context, tenant_slug, period)
        return InvoicePreview.from_draft(preview.customer.slug, preview.draft)

    @strawberry.field(
        description="Invoices and credit notes you may read, oldest first: billing admins every tenant they bill "
        "(`tenantSlug` narrows), a customer its own closed and void ones, a VC those of a startup that granted "
        "it INVOICES (give `tenantSlug`)."
    )
    async def invoices(
        self,
        info: Ctx,
        tenant_slug: str | None = None,
        period: str | None = None,
        status: InvoiceStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Invoice] | None:
        ctx = info.context
        page = await reads.invoice_list(
            ctx,
            tenant_slug,
            period,
            None if status is None else status.value,
            page_request(first, after, ctx.max_page_size, cursors.INVOICES, last=last, before=before),
        )
        return connection(page, Invoice.from_record, lambda i: (i.created_at, i.id), cursor=cursors.INVOICES)

    @strawberry.field(description="One invoice or credit note you may read.")
    async def invoice(self, info: Ctx, id: strawberry.ID) -> Invoice | None:
        return Invoice.from_record(await reads.invoice(info.context, decode_global_id("Invoice", id, "id")))

    @strawberry.field(description="The invoice as a document a customer receives, base64-encoded.")
    async def invoice_document(self, info: Ctx, id: strawberry.ID, format: DocumentFormat) -> str | None:
        return await documents.invoice_document(info.context, decode_global_id("Invoice", id, "id"), format.value)

    @strawberry.field(description="A close-all run of your operator and its progress (billing admins).")
    async def invoice_run(self, info: Ctx, id: strawberry.ID) -> InvoiceRun | None:
        return InvoiceRun.from_record(await runs.invoice_run(info.context, decode_global_id("InvoiceRun", id, "id")))

    @strawberry.field(description="Billed against your cost for `period`, per tenant and/or service (billing admins).")
    async def margins(self, info: Ctx, period: str, group_by: list[MarginGroupBy]) -> list[MarginRow] | None:
        rows = await billing_margins.margins(info.context, period, [g.value for g in group_by])
        return [MarginRow.from_line(r) for r in rows]

    @strawberry.field(description="Your operator's pricing plans with their versions, by name (billing admins).")
    async def pricing_plans(
        self,
        info: Ctx,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PricingPlan] | None:
        ctx = info.context
        page = await plans.pricing_plans(
            ctx, page_request(first, after, ctx.max_page_size, cursors.PRICING_PLANS, last=last, before=before)
        )
        return connection(page, PricingPlan.from_plan, lambda p: (p.plan.name, p.plan.id), cursor=cursors.PRICING_PLANS)

    @strawberry.field(description="A billed tenant's billing settings (billing admins); null when none yet.")
    async def customer_billing(self, info: Ctx, tenant_slug: str) -> CustomerBilling | None:
        record = await customers.customer_billing(info.context, tenant_slug)
        return None if record is None else CustomerBilling.from_record(record)
