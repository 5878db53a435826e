"""Cloud accounts, the holdings scope of cost reads, import manifests and period locks.

Every function runs in the caller's transaction, under its context: what a function returns is what the
policies let that principal see, and what it writes is what they let it write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, func, insert, select, text, update

from cost.scope import AccountScope, scope_from_database_rows
from db.cost_records import CloudAccountRecord, CostImportRecord
from db.cost_tables import cloud_account_assignments, cloud_accounts, cost_imports, cost_period_locks
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

# procrastinate's versioned SQL API (schema in migration 0004): deferring in the request's own transaction
# makes the manifest row and its job appear together, or not at all.
_DEFER = text(
    "select (procrastinate_defer_jobs_v1(array[row(:queue, :task, 0, :lock, null, cast(:args as jsonb), null)"
    "::procrastinate_job_to_defer_v1]))[1]"
)


async def visible_account_scope(tx: RequestTransaction, tenant_ids: Sequence[UUID] | None) -> AccountScope:
    """The holdings whose cost rows this principal may read: each (operator, account, interval) of the
    assignment history that the `cloud_account_assignments` policies show (own tenant, tenants that granted
    `costs`, tenants the acting operator bills), restricted to `tenant_ids` when given (None: all of them).
    An account's rows belong to whoever held it at the time, so a tenant never sees rows charged while
    another tenant held the account."""
    a = cloud_account_assignments
    statement = select(a.c.operator_id, a.c.account_id, a.c.valid_from, a.c.valid_to, a.c.is_first)
    if tenant_ids is not None:
        statement = statement.where(a.c.tenant_id.in_(list(tenant_ids)))
    return scope_from_database_rows((await tx.execute(statement)).all())


async def may_read_costs_of(tx: RequestTransaction, tenant_id: UUID) -> bool:
    """Whether `tenant_id` is the acting tenant, granted this VC `costs`, or billed by this billing admin."""
    statement = text(
        "select cast(:t as uuid) = app.current_tenant() or cast(:t as uuid) = any(app.granted_tenants('costs'))"
        " or cast(:t as uuid) = any(app.billed_tenants())"
    )
    return bool((await tx.execute(statement, {"t": str(tenant_id)})).scalar_one())


async def is_billed_tenant(tx: RequestTransaction, tenant_id: UUID) -> bool:
    statement = text("select cast(:t as uuid) = any(app.billed_tenants())")
    return bool((await tx.execute(statement, {"t": str(tenant_id)})).scalar_one())


# -- cloud accounts ----------------------------------------------------------------------------------------


async def account_by_id(tx: RequestTransaction, operator_id: UUID, account_id: str) -> CloudAccountRecord | None:
    """The operator's account `account_id` (ids are unique per operator), if the policies show it."""
    statement = select(cloud_accounts).where(
        cloud_accounts.c.operator_id == operator_id, cloud_accounts.c.account_id == account_id
    )
    row = (await tx.execute(statement)).first()
    return CloudAccountRecord(**row._mapping) if row else None


async def insert_account(
    tx: RequestTransaction, tenant_id: UUID, account_id: str, name: str, payer_account_id: str | None
) -> CloudAccountRecord:
    statement = (
        insert(cloud_accounts)
        .values(tenant_id=tenant_id, account_id=account_id, name=name, payer_account_id=payer_account_id)
        .returning(*cloud_accounts.columns)
    )
    row = (await tx.execute(statement)).one()
    return CloudAccountRecord(**row._mapping)


async def update_account(
    tx: RequestTransaction, account: CloudAccountRecord, tenant_id: UUID, fields: dict[str, Any]
) -> CloudAccountRecord | None:
    """Rename and/or move the account to `tenant_id`; None when the policies let no row change."""
    statement = (
        update(cloud_accounts)
        .where(cloud_accounts.c.tenant_id == account.tenant_id, cloud_accounts.c.account_id == account.account_id)
        .values(tenant_id=tenant_id, **fields)
        .returning(*cloud_accounts.columns)
    )
    row = (await tx.execute(statement)).first()
    return CloudAccountRecord(**row._mapping) if row else None


async def accounts_page(
    tx: RequestTransaction, tenant_ids: Sequence[UUID] | None, window: Window
) -> Page[CloudAccountRecord]:
    statement = select(cloud_accounts)
    if tenant_ids is not None:
        statement = statement.where(cloud_accounts.c.tenant_id.in_(list(tenant_ids)))
    bounded = keyset(statement, [cloud_accounts.c.account_id, cloud_accounts.c.tenant_id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([CloudAccountRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))


# -- import manifests --------------------------------------------------------------------------------------


def _import(row: Row[*tuple[Any, ...]]) -> CostImportRecord:
    return CostImportRecord(**row._mapping)


async def insert_import(
    tx: RequestTransaction,
    tenant_id: UUID,
    source_uri: str,
    source_name: str,
    bytes_total: int | None,
    late_data: str = "reject",
) -> CostImportRecord:
    statement = (
        insert(cost_imports)
        .values(
            tenant_id=tenant_id,
            source_uri=source_uri,
            source_name=source_name,
            bytes_total=bytes_total,
            late_data=late_data,
            created_by=tx.context.user_id,
        )
        .returning(*cost_imports.columns)
    )
    return _import((await tx.execute(statement)).one())


async def defer_job(tx: RequestTransaction, *, queue: str, task: str, lock: str | None, args: str) -> int:
    """Queue a procrastinate job in this transaction (`args`: the task's keyword arguments as JSON)."""
    value = (await tx.execute(_DEFER, {"queue": queue, "task": task, "lock": lock, "args": args})).scalar_one()
    return int(value)


async def import_by_id(tx: RequestTransaction, import_id: UUID) -> CostImportRecord | None:
    row = (await tx.execute(select(cost_imports).where(cost_imports.c.id == import_id))).first()
    return _import(row) if row else None


async def imports_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[CostImportRecord]:
    statement = select(cost_imports).where(cost_imports.c.tenant_id == tenant_id)
    bounded = keyset(statement, [cost_imports.c.created_at, cost_imports.c.id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([_import(r) for r in rows], window, count=counter(tx, statement))


async def update_import(tx: RequestTransaction, import_id: UUID, **fields: Any) -> CostImportRecord | None:
    """Set `fields` on the manifest; None when it is invisible to this context."""
    statement = (
        update(cost_imports).where(cost_imports.c.id == import_id).values(**fields).returning(*cost_imports.columns)
    )
    row = (await tx.execute(statement)).first()
    return _import(row) if row else None


async def claim_import(tx: RequestTransaction, import_id: UUID, *, retry: bool = False) -> CostImportRecord | None:
    """queued → running (once): None when the manifest is invisible here or was already claimed.

    `retry` (the job was requeued after its worker died): a `running` manifest is claimed again, its progress
    counted from zero."""
    statuses = ["queued", "running"] if retry else ["queued"]
    statement = (
        update(cost_imports)
        .where(cost_imports.c.id == import_id, cost_imports.c.status.in_(statuses))
        .values(status="running", started_at=func.now(), bytes=0, rows=0)
        .returning(*cost_imports.columns)
    )
    row = (await tx.execute(statement)).first()
    return _import(row) if row else None


async def imported_before(tx: RequestTransaction, tenant_id: UUID, digest: str, other_than: UUID) -> bool:
    """Whether another manifest of the operator published the file whose digest is `digest`."""
    statement = select(func.count()).where(
        cost_imports.c.tenant_id == tenant_id,
        cost_imports.c.digest == digest,
        cost_imports.c.status == "succeeded",
        cost_imports.c.id != other_than,
    )
    return bool((await tx.execute(statement)).scalar_one())


async def record_progress(tx: RequestTransaction, import_id: UUID, bytes_read: int, rows: int) -> None:
    statement = (
        update(cost_imports)
        .where(cost_imports.c.id == import_id, cost_imports.c.status == "running")
        .values(bytes=bytes_read, rows=rows)
    )
    await tx.execute(statement)


# -- period locks ------------------------------------------------------------------------------------------


async def locked_periods(tx: RequestTransaction, tenant_id: UUID) -> list[str]:
    statement = select(cost_period_locks.c.period).where(cost_period_locks.c.tenant_id == tenant_id)
    return sorted(r[0] for r in (await tx.execute(statement)).all())
