from __future__ import annotations

import gc
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from cost.partitions import PartitionedWriter
from cost.readers import Reader
from tests.plugins.cost_files import WriteLegacy


def test_memory_pressure_keeps_every_row_and_few_row_groups(legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    accounts = [f"{100000000000 + i}" for i in range(7)]
    rows = [
        {"lineItem/UsageAccountId": accounts[(i * i) % 7], "lineItem/UnblendedCost": f"{i}E-10"} for i in range(6000)
    ]
    batches = list(Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=500))
    writer = PartitionedWriter(
        pafs.LocalFileSystem(),
        str(tmp_path / "out"),
        row_group_rows=2000,
        max_buffered_bytes=200_000,
        sort_rows=700,
    )
    for batch in batches:
        writer.write(batch)
    files = writer.close()
    assert sum(f.rows for f in files) == 6000
    total = Decimal(0)
    for f in files:
        parquet = pq.ParquetFile(tmp_path / "out" / f.path)
        table = parquet.read()
        assert set(table.column("SubAccountId").to_pylist()) == {f.account}
        assert table.num_rows == f.rows
        assert parquet.num_row_groups <= 8
        total += sum(table.column("BilledCost").to_pylist(), Decimal(0))
    assert total == sum((Decimal(f"{i}E-10") for i in range(6000)), Decimal(0))


def test_sub_account_ids_are_escaped_in_paths(tmp_path: Path) -> None:
    from cost.columns import SCHEMA

    row: dict[str, object] = {name: None for name in SCHEMA.names}
    row.update(
        SubAccountId="/subscriptions/abc",
        BillingPeriodStart=pa.scalar(0, pa.timestamp("us", "UTC")).as_py(),
        Tags=[],
    )
    writer = PartitionedWriter(pafs.LocalFileSystem(), str(tmp_path))
    writer.write(pa.RecordBatch.from_pylist([row], schema=SCHEMA))
    [written] = writer.close()
    assert written.account == "/subscriptions/abc"
    assert written.path == "billing_period=1970-01/sub_account_id=%2Fsubscriptions%2Fabc/part-0.parquet"


def test_each_partition_reads_back_as_its_input_rows_in_order(legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    # Interleaved accounts; the RI/SP columns and ResourceId are null in every row (not gathered by the sort),
    # ListCost only in some rows (gathered).
    accounts = ["100000000001", "100000000002", "100000000003"]
    rows = [
        {
            "lineItem/UsageAccountId": accounts[(i * 7) % 3],
            "lineItem/UnblendedCost": f"{i}.{i % 10}",
            "pricing/publicOnDemandCost": f"{i}" if i % 4 else "",
            "lineItem/UsageType": f"type-{i % 5}",
        }
        for i in range(3000)
    ]
    batches = list(Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=400))
    expected = pa.Table.from_batches(batches)
    assert expected.column("reservation_arn").null_count == expected.num_rows
    writer = PartitionedWriter(
        pafs.LocalFileSystem(), str(tmp_path / "out"), row_group_rows=500, max_buffered_bytes=100_000, sort_rows=700
    )
    for batch in batches:
        writer.write(batch)
    files = writer.close()
    assert sorted(f.account for f in files) == accounts
    for f in files:
        stored = pq.read_table(tmp_path / "out" / f.path)
        own = expected.filter(pc.equal(expected.column("SubAccountId"), f.account))
        assert stored.schema == expected.schema
        assert stored.to_pylist() == own.to_pylist()


def test_a_partition_with_nothing_pending_at_close_is_closed_whole(legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    # Account A fills exactly two row groups before close (nothing of it is pending then: its last job only closes
    # the file); account B's rows are all written by close.
    rows = [{"lineItem/UsageAccountId": "100000000001", "lineItem/UnblendedCost": f"{i}"} for i in range(200)]
    rows += [{"lineItem/UsageAccountId": "100000000002", "lineItem/UnblendedCost": f"{i}"} for i in range(30)]
    batches = list(Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=100))
    writer = PartitionedWriter(pafs.LocalFileSystem(), str(tmp_path / "out"), row_group_rows=100, sort_rows=100)
    for batch in batches:
        writer.write(batch)
    files = {f.account: f for f in writer.close()}
    a, b = (
        pq.ParquetFile(tmp_path / "out" / files["100000000001"].path),
        pq.ParquetFile(tmp_path / "out" / files["100000000002"].path),
    )
    assert (files["100000000001"].rows, a.num_row_groups, a.metadata.num_rows) == (200, 2, 200)
    assert (files["100000000002"].rows, b.num_row_groups, b.metadata.num_rows) == (30, 1, 30)
    assert a.read().column("BilledCost").to_pylist() == [Decimal(i) for i in range(200)]


def test_the_sort_gathers_a_shared_column_once() -> None:
    from cost.partitions import _reordered

    base = pa.array([Decimal(i) for i in range(6)], pa.decimal128(38, 18))
    shared = base.slice(0, 5)
    shifted = base.slice(1, 5)  # the same buffers at another offset: other values
    equal_copy = pa.array([Decimal(i) for i in range(5)], pa.decimal128(38, 18))
    batch = pa.RecordBatch.from_arrays(
        [shared, shared, equal_copy, shifted, pa.nulls(5, pa.string())], names=["a", "b", "c", "d", "e"]
    )
    order = pa.array([3, 1, 0, 4, 2])
    result = _reordered(batch, order)
    assert result.to_pylist() == batch.take(order).to_pylist()
    assert result.column("a").buffers()[1].address == result.column("b").buffers()[1].address
    assert result.column("c").buffers()[1].address != result.column("a").buffers()[1].address
    assert result.column("d").to_pylist() == [Decimal(i) for i in (4, 2, 1, 5, 3)]


def test_a_compaction_keeps_at_most_a_quarter_of_the_budget(
    legacy_csv: WriteLegacy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each compaction copies every row it keeps, those copied before included, and comes once the budget has
    # filled again: what it keeps is copied again and again, and shortens the time to the next one.
    accounts = [f"{100000000000 + i}" for i in range(40)]
    rows = [
        {"lineItem/UsageAccountId": accounts[(i * i) % 40], "lineItem/UnblendedCost": f"{i}E-10"} for i in range(12000)
    ]
    batches = list(Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=500))
    compacted: list[int] = []
    concat = pa.concat_batches

    def counted(slices: list[pa.RecordBatch]) -> pa.RecordBatch:
        copy = concat(slices)
        compacted.append(copy.nbytes)
        return copy

    monkeypatch.setattr(pa, "concat_batches", counted)
    budget = 400_000
    writer = PartitionedWriter(
        pafs.LocalFileSystem(), str(tmp_path / "out"), row_group_rows=4000, max_buffered_bytes=budget, sort_rows=700
    )
    for batch in batches:
        writer.write(batch)
    files = writer.close()
    assert compacted, "the budget should force compactions"
    assert max(compacted) <= budget // 4
    stored = [pq.read_table(tmp_path / "out" / f.path) for f in files]
    assert sum(t.num_rows for t in stored) == 12000
    total = sum((sum(t.column("BilledCost").to_pylist(), Decimal(0)) for t in stored), Decimal(0))
    assert total == sum((Decimal(f"{i}E-10") for i in range(12000)), Decimal(0))


def test_files_roll_over_past_the_open_row_group_bound_and_keep_rows_in_order(
    legacy_csv: WriteLegacy, tmp_path: Path
) -> None:
    # One account: every row group goes to the same partition, so with at most 3 row groups open a file is
    # closed at its 4th and the partition goes on in part-1, part-2, …
    rows = [{"lineItem/UsageAccountId": "100000000001", "lineItem/UnblendedCost": f"{i}E-4"} for i in range(2500)]
    writer = PartitionedWriter(
        pafs.LocalFileSystem(), str(tmp_path / "out"), row_group_rows=200, sort_rows=100, max_open_row_groups=3
    )
    for batch in Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=100):
        writer.write(batch)
    files = writer.close()
    assert [f.path.rsplit("/", 1)[1] for f in files] == [f"part-{i}.parquet" for i in range(len(files))]
    groups = [pq.ParquetFile(tmp_path / "out" / f.path).num_row_groups for f in files]
    assert len(groups) >= 2
    assert groups[:-1] == [4] * (len(groups) - 1)  # closed as its 4th row group made 4 > 3 open
    assert 1 <= groups[-1] <= 4
    costs: list[str] = []
    for f in sorted(files, key=lambda f: int(f.path.rsplit("-", 1)[1].split(".")[0])):
        table = pq.read_table(tmp_path / "out" / f.path)
        assert table.num_rows == f.rows
        costs += [str(v.normalize()) for v in table.column("BilledCost").to_pylist()]
    assert costs == [str(Decimal(f"{i}E-4").normalize()) for i in range(2500)]


def test_a_closed_file_lets_go_of_its_writer_and_footer_before_the_import_ends(
    legacy_csv: WriteLegacy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed ParquetWriter still holds its file's footer metadata (~26 KB per row group): a rolled file that
    # kept its writer would keep its footer until the end, and the open-row-group bound would bound nothing.
    writers: list[weakref.ref[pq.ParquetWriter]] = []

    class Tracked(pq.ParquetWriter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            writers.append(weakref.ref(self))

    monkeypatch.setattr(pq, "ParquetWriter", Tracked)
    rows = [{"lineItem/UsageAccountId": "100000000001"} for _ in range(3000)]
    writer = PartitionedWriter(
        pafs.LocalFileSystem(), str(tmp_path / "out"), row_group_rows=100, sort_rows=100, max_open_row_groups=1
    )

    def alive() -> int:
        gc.collect()
        return sum(ref() is not None for ref in writers)

    for batch in Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=100):
        writer.write(batch)
    assert len(writers) >= 10  # a file per two row groups
    assert alive() < len(writers) // 2  # the rolled files' writers are gone while rows still come
    files = writer.close()
    assert alive() == 0  # and every writer once its file is closed, while the PartitionedWriter lives on
    assert sum(f.rows for f in files) == 3000


def test_the_file_with_most_row_groups_is_the_one_closed(legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    # A busy account (9 rows in 10) and a quiet one: the busy one's files roll over, the quiet one stays one file.
    rows = [
        {"lineItem/UsageAccountId": "100000000002" if i % 10 == 0 else "100000000001", "lineItem/UnblendedCost": "1"}
        for i in range(3000)
    ]
    writer = PartitionedWriter(
        pafs.LocalFileSystem(), str(tmp_path / "out"), row_group_rows=100, sort_rows=100, max_open_row_groups=4
    )
    for batch in Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=100):
        writer.write(batch)
    files = writer.close()
    by_account: dict[str, list[int]] = {}
    for f in files:
        by_account.setdefault(f.account, []).append(f.rows)
    assert sum(by_account["100000000001"]) == 2700
    assert len(by_account["100000000001"]) > 1
    assert by_account["100000000002"] == [300]


def test_a_failed_write_after_a_roll_raises_and_abort_closes_everything(
    legacy_csv: WriteLegacy, tmp_path: Path
) -> None:
    rows = [{"lineItem/UsageAccountId": "100000000001", "lineItem/UnblendedCost": "1"} for _ in range(2500)]
    out = tmp_path / "out"
    # part-1's path is taken by a folder: the first write after the roll fails.
    (out / "billing_period=2023-11" / "sub_account_id=100000000001" / "part-1.parquet").mkdir(parents=True)
    writer = PartitionedWriter(
        pafs.LocalFileSystem(), str(out), row_group_rows=200, sort_rows=100, max_open_row_groups=3
    )

    def write_all() -> None:
        for batch in Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=100):
            writer.write(batch)
        writer.close()

    with pytest.raises(IsADirectoryError, match=r"part-1\.parquet"):
        write_all()
    writer.abort()
    part0 = pq.ParquetFile(out / "billing_period=2023-11" / "sub_account_id=100000000001" / "part-0.parquet")
    assert part0.num_row_groups == 4  # closed whole by its roll, before the failure


def _spill_directories(directory: Path) -> list[Path]:
    return sorted(directory.glob("roundpool-spill-*"))


def _row_group_sizes(path: Path) -> list[int]:
    metadata = pq.ParquetFile(path).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def _pressed_writer(out: Path, spills: Path) -> PartitionedWriter:
    """40 accounts' rows under this budget leave each with ~50 pending rows at a relief, below a quarter of 400."""
    return PartitionedWriter(
        pafs.LocalFileSystem(),
        str(out),
        row_group_rows=400,
        max_buffered_bytes=200_000,
        sort_rows=700,
        spill_directory=str(spills),
    )


def test_small_partitions_spill_under_pressure_and_come_back_in_order_as_whole_row_groups(
    legacy_csv: WriteLegacy, tmp_path: Path
) -> None:
    # 40 accounts under a budget of ~600 rows: at each relief every account has ~50 rows pending, half of the
    # quarter of a row group that would let it write, so the largest ones spill (before session 10 they were
    # written as row groups of ~50 rows).
    accounts = [f"{100000000000 + i}" for i in range(40)]
    rows = [{"lineItem/UsageAccountId": accounts[i % 40], "lineItem/UnblendedCost": f"{i}E-10"} for i in range(24000)]
    batches = list(Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=500))
    expected = pa.Table.from_batches(batches)
    spills = tmp_path / "spill"
    spills.mkdir()
    writer = _pressed_writer(tmp_path / "out", spills)
    for batch in batches:
        writer.write(batch)
    assert _spill_directories(spills), "the budget should make partitions spill"
    files = writer.close()
    assert list(spills.iterdir()) == []  # the spill directory went with the close
    assert sorted(f.account for f in files) == sorted(set(accounts))
    for f in files:
        groups = _row_group_sizes(tmp_path / "out" / f.path)
        # Every row group but the last is a quarter of a row group or more: none was written because of memory.
        assert all(n >= 100 for n in groups[:-1]), groups
        stored = pq.read_table(tmp_path / "out" / f.path)
        own = expected.filter(pc.equal(expected.column("SubAccountId"), f.account))
        assert stored.num_rows == f.rows == own.num_rows
        assert stored.to_pylist() == own.to_pylist()


def test_a_spill_read_back_is_cut_into_row_groups_of_the_configured_size(
    legacy_csv: WriteLegacy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 30 small accounts: everything spills, then comes back at close as row groups of ~120 rows (the byte bound,
    # SPILLED_ROW_GROUP_BYTES) although row_group_rows allows 4000 (each account has 300).
    import cost.partitions

    rows = [{"lineItem/UsageAccountId": f"{100000000000 + (i % 30)}"} for i in range(9000)]
    batches = list(Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=500))
    row_bytes = pa.Table.from_batches(batches).nbytes / 9000
    monkeypatch.setattr(cost.partitions, "SPILLED_ROW_GROUP_BYTES", int(120 * row_bytes))
    writer = PartitionedWriter(
        pafs.LocalFileSystem(),
        str(tmp_path / "out"),
        row_group_rows=4000,
        max_buffered_bytes=60_000,
        sort_rows=500,
        spill_directory=str(tmp_path),
    )
    for batch in batches:
        writer.write(batch)
    files = writer.close()
    assert sum(f.rows for f in files) == 9000
    sizes = [n for f in files for n in _row_group_sizes(tmp_path / "out" / f.path)]
    assert max(sizes) <= 150  # ~120 rows of spill by the byte bound (rows are estimated), never 4000
    assert sum(sizes) == 9000


def test_abort_closes_and_removes_the_spills(legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    accounts = [f"{100000000000 + i}" for i in range(40)]
    rows = [{"lineItem/UsageAccountId": accounts[(i * i) % 40]} for i in range(6000)]
    writer = _pressed_writer(tmp_path / "out", tmp_path)
    for batch in Reader(str(legacy_csv(rows)), block_size=8192, batch_rows=500):
        writer.write(batch)
    [directory] = _spill_directories(tmp_path)
    assert list(directory.glob("*.arrows"))  # spills still waiting for their partition's next write
    writer.abort()
    assert not _spill_directories(tmp_path)
