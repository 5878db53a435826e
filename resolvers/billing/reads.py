"""Reading invoices: one by id, or a page (audited where read through a grant)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from db.billing_records import InvoiceRecord
from db.pagination import Page
from db.queries import invoices, tenancy
from policies.principal import Role, TenantKind
from resolvers.common.amounts import period_of
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id


async def invoice(ctx: RequestContext, invoice_id: UUID) -> InvoiceRecord:
    ctx.require_tenant()
    record = await invoices.invoice_by_id(ctx.tx, invoice_id)
    if record is None:
        raise NotFound(f"no invoice {encode_global_id('Invoice', invoice_id)} is visible to you")
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
