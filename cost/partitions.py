"""Split normalised batches into Hive partitions ``billing_period=YYYY-MM/sub_account_id=ID`` and write one
Parquet file per partition, with memory bounded by a budget that does not depend on the input's size.

Each incoming batch is sorted by partition once; partitions keep zero-copy slices of it and write a row
group when they reach ``row_group_rows``. When the sorted batches still referenced exceed
``max_buffered_bytes``, partitions with a quarter of a row group write it; of the smaller ones, the largest
*spill* until the rest fit in a quarter of the budget, and the rest are copied out of the shared batches
together (one concatenation) and keep accumulating. Each compaction copies all it keeps, the earlier copies
included, and the next one comes once the rest of the budget has filled: keeping a quarter copies at most a
third of a byte per byte sorted, keeping half would copy up to one.

A partition spills by appending its rows, as they are, to an uncompressed Arrow IPC stream of its own in a
local temporary directory. Its spilled rows become row groups when it next writes (the spill first, so each
file keeps the input's order), at the latest when it closes: read back in row groups of ``row_group_rows``
rows (fewer if that would exceed :data:`SPILLED_ROW_GROUP_BYTES`) with its pending rows after them. So a
small account gets few, large row groups, however often memory had to be relieved.

Why spill rather than write small row groups, as sessions 1-9 did: a Parquet writer holds the footer metadata of
every row group it wrote (~27 KB per row group of :data:`cost.columns.SCHEMA`) until its file is closed and the
writer dropped, so small row groups made memory grow with the input (105 MB at 11 M narrow CUR rows), and
queries slower; an IPC stream holds nothing per batch. Measured on the narrow CUR, writing and reading back
300 MB of spill costs ~0.2 s of CPU (encoding them as Parquet, which they are either way, ~0.45 s).

The open files' row groups are still bounded (``max_open_row_groups``, a guard for inputs whose partitions
are all large): past it, the file with the most row groups is closed, its writer dropped, and its partition
goes on in a new one (``part-1.parquet``, …).
Row groups are encoded and written, and spills appended, on a pool of threads (Arrow releases the GIL), a
partition's in the order they were queued; relieving memory waits for the jobs in flight, so they never hold
more than the budget.
"""

from __future__ import annotations

import contextlib
import itertools
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
from cost.scratch import ScratchDirectory

# Dictionary pages pay off for repetitive text, not for 16-byte decimals (measured: 40 % slower writes).
# LZ4 (LZ4_RAW) measured fastest to write and to read back (decimals: 0.2 s per 10 M values vs 0.37 for
# snappy) at snappy's size; DuckDB, Trino/Athena and Spark read it.
_DICTIONARY_COLUMNS = [name for name in SCHEMA.names if name not in DECIMAL_COLUMNS]
WRITERS = os.cpu_count() or 2
# Parquet writes page headers and small pages one by one: unbuffered, ~30 k writes (and as many lseeks for
# tell()) below 1 KiB for 300 files. A small buffer per open file coalesces them; the files stay open until
# close() (or a roll), so it stays small.
FILE_BUFFER_BYTES = 32 << 10
# Bytes of sorted batches the partitions may hold before they write, spill or compact (see the module docstring).
# 96 MB measured ~6 % slower on the 800 k narrow bench (more compactions and spills) for no lower peak with
# jemalloc handing freed pages back after 5 s (cli.allocator).
BUFFER_BUDGET = 160 << 20
# A compaction keeps at most 1/KEPT_FRACTION of the write budget (see the module docstring).
KEPT_FRACTION = 4
# Row groups whose footer metadata the open files may hold together (≈ 105 MB; see the module docstring). Each
# roll adds a file that queries open: at 512, a 5 M-row month was 606 files instead of 300 and its queries took
# 20 % longer (bench/cost_query.py). Since small partitions spill, row groups are at least a quarter of
# ``row_group_rows`` or a spill's read-back, so only inputs of hundreds of millions of rows reach it.
MAX_OPEN_ROW_GROUPS = 4096
# A spill is read back into row groups of at most this many bytes of Arrow data (≈ 170 k narrow CUR rows): at the
# close, each writer thread holds one.
SPILLED_ROW_GROUP_BYTES = 64 << 20
# Uncompressed: LZ4 made the spill 2.8x smaller but cost 3x the CPU to write (0.36 s against 0.12 per 300 MB).
_SPILL_OPTIONS = pa.ipc.IpcWriteOptions(compression=None)


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
class _Spill:
    """A partition's rows set aside under memory pressure: an Arrow IPC stream on local disk, opened by the
    first spill job."""

    path: str
    writer: pa.ipc.RecordBatchStreamWriter | None = None
    sink: pa.NativeFile | None = None
    rows: int = 0
    nbytes: int = 0

    def close(self) -> None:
        for handle in (self.writer, self.sink):
            if handle is not None:
                handle.close()
        self.writer = self.sink = None


@dataclass
class _Partition:
    period: str
    account: str
    file: _File = field(init=False)  # the one being written
    files: int = 1  # started so far, this one included
    owned: list[pa.RecordBatch] = field(default_factory=list)  # slices of the last compaction's copy
    shared: list[pa.RecordBatch] = field(default_factory=list)  # zero-copy slices of sorted batches
    spill: _Spill | None = None  # rows spilled since its last write
    pending_rows: int = 0
    writing: Future[None] | None = None  # the partition's last write in flight

    def __post_init__(self) -> None:
        self.file = _File(self._relative(0))

    def take_pending(self) -> pa.Table | None:
        """The pending rows as one table (their slices, no copy), now no longer pending; None if there are none."""
        table = pa.Table.from_batches(self.owned + self.shared, schema=SCHEMA) if self.pending_rows else None
        self.owned, self.shared, self.pending_rows = [], [], 0
        return table

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
        max_buffered_bytes: int = BUFFER_BUDGET,
        compression: str = "lz4",
        sort_rows: int = 64 * 1024,
        max_open_row_groups: int | None = None,
        spill_directory: str | None = None,
    ) -> None:
        """``spill_directory``: where the temporary directory of the spills is made (default: the system's,
        ``TMPDIR``); always local, whatever ``filesystem`` is (:class:`cost.scratch.ScratchDirectory`)."""
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
        self._spill_parent = spill_directory
        self._spill_directory: ScratchDirectory | None = None  # made at the first spill
        self._spills: list[_Spill] = []
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
        partition is written next, so a spill would only set aside rows about to be written)."""
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
        """Release the sorted batches: partitions with a quarter of a row group write it; of the smaller ones,
        the largest spill until the rest fit in a quarter of the budget, and the rest are copied out of the
        shared batches with one concatenation (so they keep growing towards one row group, and a compaction
        makes one copy, not one per partition and column)."""
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
            self._spill(part, row_bytes)
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
        # Hand the freed pages back (RSS measured ~2.5x Arrow's live bytes without it). With jemalloc, the pool
        # imports use, it does nothing in pyarrow 26: cli.allocator sets how soon jemalloc does it itself.
        pa.default_memory_pool().release_unused()

    def periods(self) -> set[str]:
        return {period for period, _ in self._partitions}

    def close(self) -> list[PartitionFile]:
        self._partition(closing=True)
        # The largest first, so that no long write is left alone at the end.
        for part in sorted(self._partitions.values(), key=_unwritten_rows, reverse=True):
            self._flush(part, last=True)
        self._drain(0)
        self._pool.shutdown()
        self._remove_spills()
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
        for spill in self._spills:
            with contextlib.suppress(OSError, pa.ArrowException):
                spill.close()
        self._remove_spills()

    def _remove_spills(self) -> None:
        if self._spill_directory is not None:
            self._spill_directory.remove()
            self._spill_directory = None

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
        """Write the partition's spill, then its pending rows, as row groups; ``last``: then close its file, in
        the same job (a close queued as a job of its own would hold a second writer thread waiting for it)."""
        spill, part.spill = part.spill, None
        if not part.pending_rows and spill is None and not last:
            return
        file = part.file
        file.rows += part.pending_rows + (0 if spill is None else spill.rows)
        table = part.take_pending()
        groups = (table is not None) + (0 if spill is None else -(-spill.nbytes // SPILLED_ROW_GROUP_BYTES))
        file.row_groups += groups
        self._open_row_groups += groups
        if last and not file.rows:
            return  # a file rolled over just before: its successor has no rows, so it is never opened
        self._submit(part, self._write_group, file, spill, table, part.writing, last)
        if last:
            self._closed(part)
        self._drain(2 * WRITERS)
        if self._open_row_groups > self.max_open_row_groups:
            self._roll()

    def _spill(self, part: _Partition, row_bytes: float) -> None:
        """Append the partition's pending rows to its spill (they stay slices of the sorted batches until the
        job has written them); ``row_bytes``: the sorted batches' bytes per row, to size the read-back."""
        if part.spill is None:
            if self._spill_directory is None:
                self._spill_directory = ScratchDirectory("spill", self._spill_parent)
            part.spill = _Spill(os.path.join(self._spill_directory.path, f"{len(self._spills)}.arrows"))
            self._spills.append(part.spill)
        part.spill.rows += part.pending_rows
        part.spill.nbytes += int(part.pending_rows * row_bytes)
        table = part.take_pending()
        self._submit(part, self._spill_group, part.spill, table, part.writing)
        self._drain(2 * WRITERS)

    def _roll(self) -> None:
        """Close the open file with the most row groups (after its writes); its partition goes on in a new one."""
        part = max(self._partitions.values(), key=lambda p: p.file.row_groups)
        self._submit(part, self._write_group, part.file, None, None, part.writing, True)
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

    def _write_group(
        self, file: _File, spill: _Spill | None, table: pa.Table | None, previous: Future[None] | None, last: bool
    ) -> None:
        if previous is not None:
            previous.result()  # submitted earlier, so already running or done: row groups stay in order
        if spill is not None:
            self._write_spilled(file, spill, table)
        elif table is not None:
            self._write_table(file, table)
        if last:
            assert file.writer is not None
            assert file.sink is not None
            file.writer.close()
            file.sink.close()
            # A closed writer still holds the file's footer metadata (~26 KB per row group): let it go now, or
            # the rolled files' footers stay in memory until the import ends and the bound bounds nothing.
            file.writer = file.sink = None

    def _spill_group(self, spill: _Spill, table: pa.Table, previous: Future[None] | None) -> None:
        if previous is not None:
            previous.result()
        if spill.writer is None:
            spill.sink = pa.output_stream(spill.path, buffer_size=FILE_BUFFER_BYTES)
            spill.writer = pa.ipc.new_stream(spill.sink, SCHEMA, options=_SPILL_OPTIONS)
        spill.writer.write_table(table)

    def _write_spilled(self, file: _File, spill: _Spill, table: pa.Table | None) -> None:
        """Read the spill back, the pending ``table`` after it, as row groups of ``row_group_rows`` (fewer if
        they would exceed :data:`SPILLED_ROW_GROUP_BYTES`) and one of the rest; then delete it."""
        spill.close()
        # By rows: a batch's nbytes walks its buffers (22 % of this job's time, measured).
        limit = min(self.row_group_rows, max(1, SPILLED_ROW_GROUP_BYTES * spill.rows // max(spill.nbytes, 1)))
        group: list[pa.RecordBatch] = []
        rows = 0
        with pa.input_stream(spill.path) as source:
            pending = [] if table is None else table.to_batches()
            for batch in itertools.chain(pa.ipc.open_stream(source), pending):
                group.append(batch)
                rows += batch.num_rows
                while rows >= limit:
                    rest = pa.Table.from_batches(group, schema=SCHEMA)
                    self._write_table(file, rest.slice(0, limit))
                    rest = rest.slice(limit)
                    group, rows = rest.to_batches(), rest.num_rows
        if rows:
            self._write_table(file, pa.Table.from_batches(group, schema=SCHEMA))
        os.remove(spill.path)

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


def _unwritten_rows(part: _Partition) -> int:
    return part.pending_rows + (0 if part.spill is None else part.spill.rows)


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
