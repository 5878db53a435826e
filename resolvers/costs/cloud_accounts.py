"""Cloud accounts: the operator's billing admins assign each account to the customer tenant it bills;
customers, their `costs` grantees and the billing admins read them."""

from __future__ import annotations

from uuid import UUID

from db.cost_records import CloudAccountRecord
from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import costs, tenancy
from policies.principal import Role, TenantKind
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest

BILLING_ADMINS = frozenset({Role.BILLING_ADMIN})


async def assign_cloud_account(
    ctx: RequestContext, account_id: str, tenant_slug: str, name: str | None, payer_account_id: str | None = None
) -> CloudAccountRecord:
    """Assign an account to a billed tenant, or move it there (its history keeps the previous tenant)."""
    acting = ctx.require_role(BILLING_ADMINS, TenantKind.OPERATOR)
    account_id = account_id.strip()
    if not account_id or len(account_id) > 300:
        raise InvalidInput("an account id has 1 to 300 characters", field="accountId")
    if name is not None and len(name) > 200:
        raise InvalidInput("a name has at most 200 characters", field="name")
    tenant = await tenancy.tenant_by_slug(ctx.tx, tenant_slug)
    if tenant is None or not await costs.is_billed_tenant(ctx.tx, tenant.id):
        raise NotFound(f"no tenant {tenant_slug!r} is billed by your operator")
    async with ctx.tx.savepoint():
        try:
            existing = await costs.account_by_id(ctx.tx, acting.id, account_id)
            if existing is None:
                saved = await costs.insert_account(ctx.tx, tenant.id, account_id, name or "", payer_account_id)
            else:
                fields: dict[str, str | None] = {}
                if name is not None:
                    fields["name"] = name
                if payer_account_id is not None:
                    fields["payer_account_id"] = payer_account_id
                updated = await costs.update_account(ctx.tx, existing, tenant.id, fields)
                if updated is None:
                    raise Forbidden("you may not change this cloud account")
                saved = updated
        except UniqueViolation as error:
            # Ids are unique per operator: only a concurrent assignment of the same id gets here.
            raise Conflict(f"cloud account {account_id} was assigned concurrently; try again") from error
        except PolicyViolation as error:
            raise Forbidden("only the billing admins of the tenant's operator assign its cloud accounts") from error
        except ConstraintViolation as error:
            raise InvalidInput(str(error), field="accountId") from error
    return saved


async def cloud_accounts(ctx: RequestContext, page: PageRequest, company: str | None) -> Page[CloudAccountRecord]:
    """The accounts visible to the caller (own, granted `costs`, billed), optionally of one company."""
    ctx.require_tenant()
    tenant_ids: list[UUID] | None = None
    if company is not None:
        tenant = await tenancy.tenant_by_slug(ctx.tx, company)
        if tenant is None:
            raise NotFound(f"no tenant {company!r} is visible to you")
        tenant_ids = [tenant.id]
    result = await costs.accounts_page(ctx.tx, tenant_ids, page)
    await audit_granted_reads(ctx, [a.tenant_id for a in result.items], "costs", "cloud_accounts")
    return result
