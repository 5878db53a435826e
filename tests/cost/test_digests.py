"""A file's sha256 is its identity in the catalog, whether it is hashed before the parse or beside it."""

from __future__ import annotations

import hashlib
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from cost.errors import InvalidNumberError
from cost.imports import import_file
from cost.queries import Dimension, aggregate
from cost.store import CostStore
from tests.plugins.cost_files import WriteLegacy, listing, scope_of


def _billed(store: CostStore, account: str) -> Decimal:
    rows = aggregate(store, scope_of(account), period="2023-11", group_by=[Dimension.ACCOUNT])
    return sum((row["billed"] for row in rows), Decimal(0))


def _hash_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cost-sha256"]


def test_a_file_hashed_beside_its_parse_is_recorded_by_its_sha256(store: CostStore, legacy_csv: WriteLegacy) -> None:
    path = legacy_csv([{"lineItem/UsageAccountId": str(100000000000 + i % 5)} for i in range(2000)])
    result = import_file(str(path), store)  # nothing of this size was imported: hashed on its own thread
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert list(store.catalog()["imports"]) == [result.sha256]
    assert not _hash_threads()


def test_a_file_of_an_imported_size_is_hashed_first_and_still_imported_when_it_differs(
    store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path
) -> None:
    first = legacy_csv([{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "1.5"}])
    import_file(str(first), store)
    other = legacy_csv([{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "2.5"}])
    assert other.stat().st_size == first.stat().st_size
    before = listing(tmp_path / "store")
    result = import_file(str(other), store)
    assert not result.already_imported
    assert result.sha256 == hashlib.sha256(other.read_bytes()).hexdigest()
    assert _billed(store, "111111111111") == Decimal("2.5")  # the newer file replaced the first
    assert listing(tmp_path / "store") != before
    again = import_file(str(other), store)
    assert again.already_imported
    assert again.sha256 == result.sha256


def test_a_failed_import_stops_its_hash_and_leaves_the_store_unchanged(
    store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path
) -> None:
    rows = [{"lineItem/UsageAccountId": str(100000000000 + i)} for i in range(3000)]
    rows.append({"lineItem/UnblendedCost": "n/a"})
    before = listing(tmp_path / "store")
    with pytest.raises(InvalidNumberError):
        import_file(str(legacy_csv(rows)), store)
    assert listing(tmp_path / "store") == before
    assert not _hash_threads()
