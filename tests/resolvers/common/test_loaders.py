"""The request's loaders: made when first used, over the request's transaction (never its context)."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

import pytest

from resolvers.common.errors import Unauthenticated
from resolvers.common.loaders import Loaders


def test_a_loader_is_made_when_first_used_and_then_kept() -> None:
    loaders = Loaders(cast(Any, object()))  # a transaction is read only when a loader loads
    assert "tenant" not in vars(loaders)
    first = loaders.tenant
    assert loaders.tenant is first
    assert set(vars(loaders)) == {"_transaction", "tenant"}


@pytest.mark.parametrize("name", ["tenant", "user", "profile", "ledger_rows", "grant_read"])
def test_a_request_without_a_transaction_has_no_loaders(name: str) -> None:
    with pytest.raises(Unauthenticated):
        getattr(Loaders(None), name)


async def test_a_request_without_a_transaction_reads_no_tenants() -> None:
    assert await Loaders(None).tenants([]) == []  # nothing asked, nothing read
    with pytest.raises(Unauthenticated):
        await Loaders(None).tenants([UUID(int=1)])
