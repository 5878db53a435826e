"""Split normalised batches into Hive partitions ``billing_period=YYYY-MM/sub_account_id=ID`` and write one
Parquet file per partition, with bounded memory.

Each incoming batch is sorted by partition once; partitions keep zero-copy slices of it and write a row
group when they reach ``row_group_rows``. When the sorted batches still referenced exceed
``max_buffered_bytes``, partitions with a reasonable amount of rows flush, and so do the largest small ones
until the others fit in a quarter of the budget; those others are copied out of the shared batches together
(one concatenation) and keep accumulating (so a small account still gets few, large row groups: fewer row
groups is what makes queries fast), and memory stays flat. Each compaction copies all it keeps, the earlier
copies included, and the next one comes once the rest of the budget has filled: keeping a quarter copies at
most a third of a byte per byte sorted, keeping half would copy up to one (5 M narrow rows: 1.3 M rows copied
in 14 compactions instead of 4.2 M in 23, for 20 % more row groups).
Each partition keeps one open :class:`pyarrow.parquet.ParquetWriter` until :meth:`close`. An open Parquet file
holds the footer metadata of every row group it wrote (~26 KB per row group of :data:`cost.columns.SCHEMA`)
until it closes and its writer is dropped, so with every file open memory grows with the input (30 MB for the
1,158 row groups of 3.2 M narrow CUR rows): past ``max_open_row_groups`` in all open files, the file with the
most row groups is closed, its writer dropped, and its partition goes on in a new one (``part-1.parquet``, …).
Row groups are encoded and written on a pool of threads (Arrow releases the GIL), a partition's in the order
they were flushed; a compaction waits for the writes in flight, so they never hold more than the budget.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from cost.columns import ACCOUNT_KEY, DECIMAL_COLUMNS, PERIOD_KEY, SCHEMA

# Dictionary pages pay off for repetitive text, not for 16-byte decimals (measured: 40 % slower writes).
# LZ4 (LZ4_RAW) measured fastest to write and to read back (decimals: 0.2 s per 10 M values vs 0.37 for
# snappy) at snappy's size; DuckDB, Trino/Athena and Spark read it.
_DICTIONARY_COLUMNS = [name for name in SCHEMA.names if name not in DECIMAL_COLUMNS]
WRITERS = os.cpu_count() or 2
# Parquet writes page headers and small pages one by one: unbuffered, ~30 k writes (and as many lseeks for
# tell()) below 1 KiB for 300 files. A small buffer per open file coalesces them; the files stay open until
# close() (or a roll), so it stays small.
FILE_BUFFER_BYTES = 32 << 10
# A compaction keeps at most 1/KEPT_FRACTION of the write budget (see the module docstring).
KEPT_FRACTION = 4
# Row groups whose footer metadata the open files may hold together (≈ 105 MB; see the module docstring). Each
# roll adds a file that queries open: at 512, a 5 M-row month was 606 files instead of 300 and its queries took
# 20 % longer (bench/cost_query.py), for 30 MB of import memory at 6.4 M rows. At 4096 a file of up to ~10 M
# narrow rows (~360 row groups per million) is written as before, and a larger one's memory stays bounded.
MAX_OPEN_ROW_GROUPS = 4096


@dataclass(frozen=True)
class PartitionFile:
    period: str
    account: str
    path: str  # relative to the writer's base directory
    rows: int


@dataclass
class _File:
    """One Parquet file of a partition; its writer is opened by the first write job, on a writer thread."""

    relative: str  # relative to the writer's base directory
    writer: pq.ParquetWriter | None = None
    sink: pa.NativeFile | None = None
    rows: int = 0  # flushed to it (written, or queued)
    row_groups: int = 0


@dataclass
class _Partition:
    period: str
    account: str
    file: _File = field(init=False)  # the one being written
    files: int = 1  # started so far, this one included
    owned: list[pa.RecordBatch] = field(default_factory=list)  # slices of the last compaction's copy
    shared: list[pa.RecordBatch] = field(default_factory=list)  # zero-copy slices of sorted batches
    pending_rows: int = 0
    writing: Future[None] | None = None  # the partition's last write in flight

    def __post_init__(self) -> None:
        self.file = _File(self._relative(0))

    def next_file(self) -> None:
        self.file = _File(self._relative(self.files))
        self.files += 1

    def _relative(self, index: int) -> str:
        # Hive escapes partition values; Azure sub-accounts are paths ("/subscriptions/…").
        return f"{PERIOD_KEY}={self.period}/{ACCOUNT_KEY}={quote(self.account, safe='')}/part-{index}.parquet"


def periods_in(batch: pa.RecordBatch) -> list[str]:
    """The distinct ``YYYY-MM`` billing periods of a batch (formatting only the distinct timestamps)."""
    return sorted(set(pc.strftime(pc.unique(batch.column("BillingPeriodStart")), format="%Y-%m").to_pylist()))


class PartitionedWriter:
    def __init__(
        self,
        filesystem: pafs.FileSystem,
        base: str,
        *,
        row_group_rows: int = 256 * 1024,
        max_buffered_bytes: int = 160 << 20,
        compression: str = "lz4",
        sort_rows: int = 64 * 1024,
        max_open_row_groups: int | None = None,
    ) -> None:
        self.filesystem = filesystem
        self.base = base.rstrip("/")
        self.row_group_rows = row_group_rows
        self.max_buffered_bytes = max_buffered_bytes
        self.compression = compression
        self.sort_rows = sort_rows
        self.max_open_row_groups = MAX_OPEN_ROW_GROUPS if max_open_row_groups is None else max_open_row_groups
        self._partitions: dict[tuple[str, str], _Partition] = {}
        self._finished: list[PartitionFile] = []  # files closed, or queued to close
        self._rolled: list[_File] = []  # closed before close(), by _roll
        self._open_row_groups = 0
        self._buffered = 0
        self._buffered_rows = 0
        self._incoming: list[pa.RecordBatch] = []
        self._incoming_rows = 0
        self._pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="cost-write")
        self._writes: deque[Future[None]] = deque()

    def write(self, batch: pa.RecordBatch) -> None:
        """Queue a batch; batches are partitioned in groups of ``sort_rows`` to amortise per-slice costs."""
        self._incoming.append(batch)
        self._incoming_rows += batch.num_rows
        if self._incoming_rows >= self.sort_rows:
            self._partition()

    def _partition(self, *, closing: bool = False) -> None:
        """Sort the queued batches by partition; past the budget, relieve memory (not when ``closing``: every
        partition is flushed next, so a compaction would only copy rows about to be written)."""
        if not self._incoming:
            return
        if len(self._incoming) == 1:
            batch = self._incoming[0]
        else:
            batch = pa.Table.from_batches(self._incoming, schema=SCHEMA).combine_chunks().to_batches()[0]
        self._incoming, self._incoming_rows = [], 0
        periods = pc.dictionary_encode(batch.column("BillingPeriodStart"))
        accounts = pc.dictionary_encode(batch.column("SubAccountId"))
        period_names = pc.strftime(periods.dictionary, format="%Y-%m").to_pylist()
        account_names = accounts.dictionary.to_pylist()
        codes = periods.indices.to_numpy(zero_copy_only=False).astype(np.int64) * len(
            account_names
        ) + accounts.indices.to_numpy(zero_copy_only=False)
        order = np.argsort(codes, kind="stable")
        ordered_codes = codes[order]
        starts = np.flatnonzero(np.diff(ordered_codes, prepend=-1))
        ends = np.append(starts[1:], len(codes))
        # One take per batch; partitions keep zero-copy slices of it until flushed, and the whole sorted
        # batch counts against the memory budget while any slice of it is pending.
        ordered = _reordered(batch, pa.array(order))
        self._buffered += ordered.nbytes
        self._buffered_rows += ordered.num_rows
        for begin, end in zip(starts.tolist(), ends.tolist(), strict=True):
            code = int(ordered_codes[begin])
            period, account = (
                period_names[code // len(account_names)],
                account_names[code % len(account_names)],
            )
            self._append(period, account, ordered.slice(begin, end - begin))
        if self._buffered > self.max_buffered_bytes and not closing:
            self._relieve()

    def _relieve(self) -> None:
        """Release the sorted batches: flush partitions with a decent row group; of the small ones, flush the
        largest until the rest fit in a quarter of the budget, and copy the rest out of the shared batches with
        one concatenation (so they keep growing towards one row group, and a compaction makes one copy, not one
        per partition and column)."""
        small = []
        for part in self._partitions.values():
            if part.pending_rows >= self.row_group_rows // 4:
                self._flush(part)
            elif part.pending_rows:
                small.append(part)
        row_bytes = self._buffered / max(self._buffered_rows, 1)
        kept = sum(part.pending_rows for part in small) * row_bytes
        small.sort(key=lambda p: p.pending_rows)
        while small and kept > self.max_buffered_bytes // KEPT_FRACTION:
            part = small.pop()  # the largest
            kept -= part.pending_rows * row_bytes
            self._flush(part)
        self._buffered = self._buffered_rows = 0
        slices = [rows for part in small for rows in part.owned + part.shared]
        if slices:
            # Partition by partition, so each one's rows are one contiguous slice of the copy.
            compacted = pa.concat_batches(slices)
            offset = 0
            for part in small:
                part.owned, part.shared = [compacted.slice(offset, part.pending_rows)], []
                offset += part.pending_rows
            self._buffered, self._buffered_rows = compacted.nbytes, compacted.num_rows
        self._drain(0)
        # Hand the freed pages back (without this, RSS measured ~2.5x Arrow's live bytes).
        pa.default_memory_pool().release_unused()

    def periods(self) -> set[str]:
        return {period for period, _ in self._partitions}

    def close(self) -> list[PartitionFile]:
        self._partition(closing=True)
        # The largest first, so that no long write is left alone at the end.
        for part in sorted(self._partitions.values(), key=lambda p: p.pending_rows, reverse=True):
            self._flush(part, last=True)
        self._drain(0)
        self._pool.shutdown()
        return sorted(self._finished, key=lambda f: (f.period, f.account, f.path))

    def abort(self) -> None:
        while self._writes:
            with contextlib.suppress(Exception):
                self._writes.popleft().result()
        self._pool.shutdown()
        # A rolled file's close job has run by now, unless a write before it in its partition's chain failed.
        for file in [part.file for part in self._partitions.values()] + self._rolled:
            for handle in (file.writer, file.sink):
                if handle is not None:
                    with contextlib.suppress(OSError, pa.ArrowException):
                        handle.close()

    def _append(self, period: str, account: str, rows: pa.RecordBatch) -> None:
        part = self._partitions.get((period, account))
        if part is None:
            if account in {"", ".", ".."}:
                raise ValueError(f"sub-account id {account!r} cannot name a partition")
            part = self._partitions[(period, account)] = _Partition(period, account)
        part.shared.append(rows)
        part.pending_rows += rows.num_rows
        if part.pending_rows >= self.row_group_rows:
            self._flush(part)

    def _flush(self, part: _Partition, *, last: bool = False) -> None:
        """Write the partition's pending rows as a row group; ``last``: then close its file, in the same job
        (a close queued as a job of its own would hold a second writer thread waiting for the write)."""
        if not part.pending_rows and not last:
            return
        table = pa.Table.from_batches(part.owned + part.shared, schema=SCHEMA) if part.pending_rows else None
        file = part.file
        if table is not None:
            file.rows += part.pending_rows
            file.row_groups += 1
            self._open_row_groups += 1
        part.owned, part.shared, part.pending_rows = [], [], 0
        if last and not file.rows:
            return  # a file rolled over just before: its successor has no rows, so it is never opened
        self._submit(part, self._write_group, file, table, part.writing, last)
        if last:
            self._closed(part)
        self._drain(2 * WRITERS)
        if self._open_row_groups > self.max_open_row_groups:
            self._roll()

    def _roll(self) -> None:
        """Close the open file with the most row groups (after its writes); its partition goes on in a new one."""
        part = max(self._partitions.values(), key=lambda p: p.file.row_groups)
        self._submit(part, self._write_group, part.file, None, part.writing, True)
        self._closed(part)
        self._rolled.append(part.file)
        part.next_file()

    def _closed(self, part: _Partition) -> None:
        file = part.file
        self._finished.append(PartitionFile(part.period, part.account, file.relative, file.rows))
        self._open_row_groups -= file.row_groups

    def _submit(self, part: _Partition, job: Callable[..., None], *args: object) -> None:
        part.writing = self._pool.submit(job, *args)
        self._writes.append(part.writing)

    def _drain(self, keep: int) -> None:
        """Wait for the oldest writes until at most ``keep`` are in flight (a failed write raises here)."""
        while len(self._writes) > keep:
            self._writes.popleft().result()

    def _write_group(self, file: _File, table: pa.Table | None, previous: Future[None] | None, last: bool) -> None:
        if previous is not None:
            previous.result()  # submitted earlier, so already running or done: row groups stay in order
        if table is not None:
            self._write_table(file, table)
        if last:
            assert file.writer is not None
            assert file.sink is not None
            file.writer.close()
            file.sink.close()
            # A closed writer still holds the file's footer metadata (~26 KB per row group): let it go now, or
            # the rolled files' footers stay in memory until the import ends and the bound bounds nothing.
            file.writer = file.sink = None

    def _write_table(self, file: _File, table: pa.Table) -> None:
        if file.writer is None:
            directory = f"{self.base}/{file.relative.rsplit('/', 1)[0]}"
            self.filesystem.create_dir(directory, recursive=True)
            file.sink = self.filesystem.open_output_stream(
                f"{self.base}/{file.relative}", compression=None, buffer_size=FILE_BUFFER_BYTES
            )
            file.writer = pq.ParquetWriter(
                file.sink,
                SCHEMA,
                compression=self.compression,
                write_statistics=["BillingPeriodStart", "SubAccountId"],
                use_dictionary=_DICTIONARY_COLUMNS,
            )
        file.writer.write_table(table, row_group_size=max(self.row_group_rows, table.num_rows))


def _reordered(batch: pa.RecordBatch, order: pa.Array) -> pa.RecordBatch:
    """``batch.take(order)``, gathering each distinct column once: a column that is null in every row (a month's
    file often lacks the RI, savings-plan or resource columns) is its own permutation, and columns that are
    one array (``BilledCost`` and ``unblended_cost``, ``ListCost`` and ``public_on_demand_cost``) stay one."""
    taken: dict[tuple[object, ...], pa.Array] = {}
    columns = []
    for column in batch.columns:
        if column.null_count == len(column):
            columns.append(column)
            continue
        key = _identity(column)
        if key not in taken:
            taken[key] = column.take(order)
        columns.append(taken[key])
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _identity(column: pa.Array) -> tuple[object, ...]:
    """Equal for two arrays that are the same values: the same type, buffers, offset and length."""
    buffers = tuple(0 if b is None else b.address for b in column.buffers())
    return (column.type, column.offset, len(column), buffers)
