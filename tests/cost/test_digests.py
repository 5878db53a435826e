"""A file's BLAKE3 digest is its identity in the catalog, whether it is hashed before the parse, beside it or by it."""

from __future__ import annotations

import gzip
import hashlib
import threading
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from blake3 import blake3

from cost.catalog import ImportRecord
from cost.chunks import CHUNK_BYTES, Chunk
from cost.digests import ChunkDigest
from cost.errors import InvalidNumberError
from cost.imports import ImportResult, import_file
from cost.queries import Dimension, aggregate
from cost.rows import read_rows
from cost.store import CostStore
from tests.plugins.cost_files import WriteLegacy, listing, scope_of


def _billed(store: CostStore, account: str) -> Decimal:
    rows = aggregate(store, scope_of(account), period="2023-11", group_by=[Dimension.ACCOUNT])
    return sum((row["billed"] for row in rows), Decimal(0))


def _hash_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("cost-digest")]


def test_a_file_hashed_beside_its_parse_is_recorded_by_its_digest(store: CostStore, legacy_csv: WriteLegacy) -> None:
    path = legacy_csv([{"lineItem/UsageAccountId": str(100000000000 + i % 5)} for i in range(2000)])
    result = import_file(str(path), store)  # nothing of this size was imported: hashed on its own thread
    assert result.digest == blake3(path.read_bytes()).hexdigest()
    assert list(store.catalog()["imports"]) == [result.digest]
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
    assert result.digest == blake3(other.read_bytes()).hexdigest()
    assert _billed(store, "111111111111") == Decimal("2.5")  # the newer file replaced the first
    assert listing(tmp_path / "store") != before
    again = import_file(str(other), store)
    assert again.already_imported
    assert again.digest == result.digest


def test_a_file_recorded_by_its_sha256_before_blake3_is_still_a_duplicate(
    store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path
) -> None:
    path = legacy_csv([{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "1.5"}])
    first = import_file(str(path), store)
    catalog = store.catalog()
    legacy = hashlib.sha256(path.read_bytes()).hexdigest()
    # The catalog as imports before BLAKE3 wrote it: the record under the file's SHA-256, which it repeats.
    record = cast(ImportRecord, {**catalog["imports"][first.digest], "sha256": legacy})
    store.publish({**catalog, "imports": {legacy: record}})
    before = listing(tmp_path / "store")
    again = import_file(str(path), store)
    assert again.already_imported
    assert again.digest == legacy  # the stored result, under the key it was recorded by
    assert listing(tmp_path / "store") == before  # nothing written: its late rows could not be added twice
    assert _billed(store, "111111111111") == Decimal("1.5")
    other = legacy_csv([{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "2.5"}])
    assert other.stat().st_size == path.stat().st_size  # same size, other content: imported
    assert not import_file(str(other), store).already_imported
    assert _billed(store, "111111111111") == Decimal("2.5")


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


def _import_seeing_threads(path: Path, store: CostStore) -> tuple[ImportResult, set[str]]:
    seen: set[str] = set()

    def progress(_bytes: int, _rows: int) -> None:
        seen.update(t.name for t in threading.enumerate())

    return import_file(str(path), store, on_progress=progress), seen


def _rows(count: int, resource: str = "i-0abc") -> list[dict[str, str]]:
    return [
        {"lineItem/UsageAccountId": str(100000000000 + i % 7), "lineItem/ResourceId": f"{resource}{i}"}
        for i in range(count)
    ]


def test_a_plain_csv_is_hashed_by_its_parse_in_one_read(store: CostStore, legacy_csv: WriteLegacy) -> None:
    path = legacy_csv(_rows(12_000))
    assert path.stat().st_size > 2 * CHUNK_BYTES  # several chunks, cut and parsed on threads
    result, threads = _import_seeing_threads(path, store)
    assert result.digest == blake3(path.read_bytes()).hexdigest()
    assert result.rows == 12_000
    assert "cost-digest" not in threads  # no second read of the file beside the parse
    assert import_file(str(path), store).already_imported


def test_a_csv_parsed_serially_from_a_quoted_newline_on_is_read_and_hashed_whole(
    store: CostStore, legacy_csv: WriteLegacy
) -> None:
    # 100 newlines inside every ResourceId: chunk ends fall inside quoted values, a chunk merged with the
    # next one too, so the serial fallback reads on (it refused such a file: "straddles two block boundaries").
    resource = "i-0" + "\n" * 100
    path = legacy_csv(_rows(40_000, resource=resource))
    result, _ = _import_seeing_threads(path, store)
    assert result.rows == 40_000
    assert result.digest == blake3(path.read_bytes()).hexdigest()
    accounts = [str(100000000000 + i) for i in range(7)]
    stored = read_rows(store, scope_of(*accounts), "2023-11", columns=["ResourceId"]).column("ResourceId")
    assert sorted(stored.to_pylist()) == sorted(f"{resource}{i}" for i in range(40_000))


def test_a_csv_without_a_final_newline_is_hashed_to_its_last_byte(store: CostStore, legacy_csv: WriteLegacy) -> None:
    path = legacy_csv(_rows(3_000))
    path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    result, _ = _import_seeing_threads(path, store)
    assert result.rows == 3_000
    assert result.digest == blake3(path.read_bytes()).hexdigest()


def test_a_compressed_csv_is_hashed_as_stored(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    plain = legacy_csv(_rows(3_000))
    packed = tmp_path / "cur.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    result = import_file(str(packed), store)
    assert result.digest == blake3(packed.read_bytes()).hexdigest()


def test_a_chunk_digest_names_no_digest_before_the_end() -> None:
    data = bytes(range(256)) * 1000
    pieces = [data[i : i + 1000] for i in range(100, len(data), 1000)]
    chunks = [Chunk(bytearray(piece + b"spare room"), len(piece), 0) for piece in pieces]
    digest = ChunkDigest()
    fed = digest.feed(data[:100], chunks)
    next(fed)
    assert digest.hexdigest() is None  # a file read in part has no identity
    digest = ChunkDigest()
    assert list(digest.feed(data[:100], chunks)) == chunks
    assert digest.hexdigest() == blake3(data).hexdigest()
    assert not _hash_threads()
