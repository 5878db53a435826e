"""The request's loaders: made when first used, over the request's transaction (never its context)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import pytest

from db.records import TenantRecord, UserRecord
from resolvers.common.errors import Unauthenticated
from resolvers.common.loaders import Loaders


def test_a_loader_is_made_when_first_used_and_then_kept() -> None:
    loaders = Loaders(cast(Any, object()))  # a transaction is read only when a loader loads
    assert "tenant" not in vars(loaders)
    first = loaders.tenant
    assert loaders.tenant is first
    assert {name for name in vars(loaders) if not name.startswith("_")} == {"tenant"}


@pytest.mark.parametrize("name", ["tenant", "user", "profile", "ledger_rows", "grant_read"])
def test_a_request_without_a_transaction_has_no_loaders(name: str) -> None:
    with pytest.raises(Unauthenticated):
        getattr(Loaders(None), name)


async def test_a_request_without_a_transaction_reads_no_tenants() -> None:
    assert await Loaders(None).tenants([]) == []  # nothing asked, nothing read
    with pytest.raises(Unauthenticated):
        await Loaders(None).tenants([UUID(int=1)])


_CREATED = datetime(2026, 1, 1, tzinfo=UTC)
_USER = UserRecord(id=UUID(int=7), email="a@example.com", display_name="A", created_at=_CREATED)
_TENANT = TenantRecord(id=UUID(int=8), slug="acme", name="Acme", kind="startup", operator_id=None, created_at=_CREATED)


async def test_known_rows_are_answered_without_a_statement_and_without_making_a_loader_first() -> None:
    loaders = Loaders(cast(Any, object()))  # a transaction that would fail any statement
    loaders.know(_USER, _TENANT)
    assert "user" not in vars(loaders)
    assert "tenant" not in vars(loaders)
    assert await loaders.user.load(_USER.id) is _USER
    assert await loaders.tenant.load(_TENANT.id) is _TENANT


async def test_rows_known_after_a_loader_was_made_prime_it() -> None:
    loaders = Loaders(cast(Any, object()))
    made = loaders.user
    loaders.know(_USER, None)
    assert loaders.user is made
    assert await loaders.user.load(_USER.id) is _USER
    assert "tenant" not in vars(loaders)
