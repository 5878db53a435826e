"""Per-request DataLoaders. Created with each request's context: a shared cache would serve one
tenant's rows to another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from strawberry.dataloader import DataLoader

from db.captable_records import LedgerRow
from db.queries import audit, captable, companies, tenancy
from db.queries.audit import GrantRead
from db.records import CompanyProfileRecord, TenantRecord, UserRecord
from db.session import RequestTransaction


class TransactionSource(Protocol):
    """What the loaders need of the request context (which owns them): its transaction, read at load time."""

    @property
    def tx(self) -> RequestTransaction: ...


class Loaders:
    def __init__(self, context: TransactionSource) -> None:
        # Typed by their load functions: subscripting DataLoader here would build the generic alias on every
        # request (typing's cache lookups, and the alias's call, cost more than the loaders themselves).
        self._context = context
        self.tenant: DataLoader[UUID, TenantRecord | None] = DataLoader(load_fn=self._tenants)
        self.user: DataLoader[UUID, UserRecord | None] = DataLoader(load_fn=self._users)
        self.profile: DataLoader[UUID, CompanyProfileRecord | None] = DataLoader(load_fn=self._profiles)
        # A company's ledger rows (what the policies show), for fields of many companies at once.
        self.ledger_rows: DataLoader[UUID, list[LedgerRow]] = DataLoader(load_fn=self._ledger_rows)
        # Uncached (every read is logged each time), batched (one side transaction for the reads of a tick).
        self.grant_read: DataLoader[GrantRead, None] = DataLoader(load_fn=self._grant_reads, cache=False)

    async def tenants(self, ids: Sequence[UUID]) -> list[TenantRecord | None]:
        """Many tenants at once, in one statement, without the loader's future and cache entry per key: a
        portfolio's hundreds of companies, read once per request (a field that loads one of them again costs one
        statement, not a wrong answer)."""
        return await self._tenants(ids) if ids else []

    async def _tenants(self, ids: Sequence[UUID]) -> list[TenantRecord | None]:
        by_id = {t.id: t for t in await tenancy.tenants_by_ids(self._context.tx, ids)}
        return [by_id.get(i) for i in ids]

    async def _users(self, ids: Sequence[UUID]) -> list[UserRecord | None]:
        by_id = {u.id: u for u in await tenancy.users_by_ids(self._context.tx, ids)}
        return [by_id.get(i) for i in ids]

    async def _profiles(self, ids: Sequence[UUID]) -> list[CompanyProfileRecord | None]:
        by_id = {p.tenant_id: p for p in await companies.profiles_by_tenant(self._context.tx, ids)}
        return [by_id.get(i) for i in ids]

    async def _ledger_rows(self, ids: Sequence[UUID]) -> list[list[LedgerRow]]:
        found = await captable.ledger_rows_of(self._context.tx, ids)
        return [found.get(i, []) for i in ids]

    async def _grant_reads(self, reads: Sequence[GrantRead]) -> list[None]:
        await audit.record_grant_reads(self._context.tx, reads)
        return [None] * len(reads)
