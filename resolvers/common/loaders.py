"""Per-request DataLoaders. Created with each request's context: a shared cache would serve one
tenant's rows to another."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, partial
from uuid import UUID

from strawberry.dataloader import DataLoader

from db.captable_records import LedgerRow
from db.queries import audit, captable, companies, tenancy
from db.queries.audit import GrantRead
from db.records import CompanyProfileRecord, TenantRecord, UserRecord
from db.session import RequestTransaction
from resolvers.common.errors import Unauthenticated


class Loaders:
    """A request's loaders, each made when first used: most requests use none. They hold the request's
    transaction, never its context (which holds them), so a request's objects are freed as soon as it ends,
    without waiting for the cycle collector."""

    def __init__(self, transaction: RequestTransaction | None) -> None:
        self._transaction = transaction
        self._known_users: dict[UUID, UserRecord] = {}
        self._known_tenants: dict[UUID, TenantRecord] = {}

    def know(self, user: UserRecord, tenant: TenantRecord | None) -> None:
        """Rows the request has read already (its opening's): the user and tenant loaders answer them without
        a statement, as if primed, and are made only if a field loads through them."""
        self._known_users[user.id] = user
        if tenant is not None:
            self._known_tenants[tenant.id] = tenant
        if "user" in vars(self):  # made already: primed now
            self.user.prime(user.id, user)
        if tenant is not None and "tenant" in vars(self):
            self.tenant.prime(tenant.id, tenant)

    # Typed by their load functions: subscripting DataLoader at run time would build the generic alias on every
    # request (typing's cache lookups, and the alias's call, cost more than the loaders themselves).
    @cached_property
    def tenant(self) -> DataLoader[UUID, TenantRecord | None]:
        loader: DataLoader[UUID, TenantRecord | None] = DataLoader(load_fn=partial(_tenants, self._tx()))
        loader.prime_many(self._known_tenants)
        return loader

    @cached_property
    def user(self) -> DataLoader[UUID, UserRecord | None]:
        loader: DataLoader[UUID, UserRecord | None] = DataLoader(load_fn=partial(_users, self._tx()))
        loader.prime_many(self._known_users)
        return loader

    @cached_property
    def profile(self) -> DataLoader[UUID, CompanyProfileRecord | None]:
        return DataLoader(load_fn=partial(_profiles, self._tx()))

    @cached_property
    def ledger_rows(self) -> DataLoader[UUID, list[LedgerRow]]:
        """A company's ledger rows (what the policies show), for fields of many companies at once."""
        return DataLoader(load_fn=partial(_ledger_rows, self._tx()))

    @cached_property
    def grant_read(self) -> DataLoader[GrantRead, None]:
        """Uncached (every read is logged each time), batched (one side transaction for the reads of a tick)."""
        return DataLoader(load_fn=partial(_grant_reads, self._tx()), cache=False)

    async def tenants(self, ids: Sequence[UUID]) -> list[TenantRecord | None]:
        """Many tenants at once, in one statement, without the loader's future and cache entry per key: a
        portfolio's hundreds of companies, read once per request (a field that loads one of them again costs one
        statement, not a wrong answer)."""
        return await _tenants(self._tx(), ids) if ids else []

    def _tx(self) -> RequestTransaction:
        if self._transaction is None:
            raise Unauthenticated("authentication required")
        return self._transaction


async def _tenants(tx: RequestTransaction, ids: Sequence[UUID]) -> list[TenantRecord | None]:
    by_id = {t.id: t for t in await tenancy.tenants_by_ids(tx, ids)}
    return [by_id.get(i) for i in ids]


async def _users(tx: RequestTransaction, ids: Sequence[UUID]) -> list[UserRecord | None]:
    by_id = {u.id: u for u in await tenancy.users_by_ids(tx, ids)}
    return [by_id.get(i) for i in ids]


async def _profiles(tx: RequestTransaction, ids: Sequence[UUID]) -> list[CompanyProfileRecord | None]:
    by_id = {p.tenant_id: p for p in await companies.profiles_by_tenant(tx, ids)}
    return [by_id.get(i) for i in ids]


async def _ledger_rows(tx: RequestTransaction, ids: Sequence[UUID]) -> list[list[LedgerRow]]:
    found = await captable.ledger_rows_of(tx, ids)
    return [found.get(i, []) for i in ids]


async def _grant_reads(tx: RequestTransaction, reads: Sequence[GrantRead]) -> list[None]:
    await audit.record_grant_reads(tx, reads)
    return [None] * len(reads)
