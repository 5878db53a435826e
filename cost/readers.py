"""Stream any supported billing file as record batches of :data:`cost.columns.SCHEMA`.

CSV is cut into chunks of whole rows (:mod:`cost.chunks`) parsed by Arrow on a pool of threads, one chunk
per thread, in file order, reading only the columns the mapping needs, all as text (then converted exactly,
see :mod:`cost.decimals`); a file whose header holds a quoted newline, or whose chunks cannot be proved to
end on row boundaries, is parsed serially by Arrow's streaming reader from there on. Parquet goes through
``ParquetFile.iter_batches``. Memory is bounded by a few chunks whatever the file size.
Row numbers in errors are 1-based data rows (the header is row 0).

A file is first recognised from its header (:func:`cost.formats.detect`); only then may an error quote its
content. A recognised file is refused when a column the mapping reads appears twice in the header, or when
a required column (:data:`cost.formats.REQUIRED`, and the account) has an empty cell: silently reading one
of two ``BilledCost`` columns, or an empty cost as nothing, would invoice a wrong amount.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import threading
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from cost import cur2, focus, legacy
from cost.chunks import CHUNK_BYTES, SENTINEL_VALUE, Chunk, Joined, sentinel, split
from cost.digests import ChunkDigest
from cost.errors import (
    CorruptFileError,
    DuplicateColumnError,
    EmptyFileError,
    InputError,
    InvalidValueError,
    MixedCurrencyError,
    UnknownFormatError,
)
from cost.formats import REQUIRED, Format, detect
from cost.prefetch import prefetch
from cost.sources import Source
from cost.values import Batch

BLOCK_SIZE = CHUNK_BYTES
# Each chunk is one read_csv call with a fixed cost per column read (a wide CUR reads ~60 of ~110): 4 MiB
# chunks measured ~30 % less parse CPU than 1 MiB on the 1 GB wide bench file and 15-20 % on the 0.6 GB narrow
# one (8 MiB no better). A file gets chunks of at least BLOCK_SIZE, growing up to this as long as it still
# cuts into CHUNKS_PER_FILE of them, so a small file still keeps every parser busy.
LARGE_BLOCK_SIZE = 4 << 20
CHUNKS_PER_FILE = 16
# The serial fallback: small blocks measured fastest with flattest memory (Arrow reuses the allocations).
SERIAL_BLOCK_SIZE = 1 << 20
PARSERS = os.cpu_count() or 2
# Chunks in flight: enough that no parser waits for the next chunk to be cut or for a slow neighbour.
WINDOW = 2 * PARSERS + 2
PARQUET_BATCH_ROWS = 64 * 1024
# Normalisation makes ~100 Arrow calls per batch; below ~50k rows their fixed cost dominates (measured).
BATCH_ROWS = 64 * 1024


def _use_jemalloc() -> None:
    """Arrow's default mimalloc measured 4-8 s of system time (page purging under the import's ~8 threads)
    on a 0.6 GB CUR where jemalloc took 1.6 s (and polars 0.8): same user time, same peak RSS. Process-wide;
    an explicit ``ARROW_DEFAULT_MEMORY_POOL`` wins, and builds without jemalloc keep their default. How soon
    jemalloc hands freed pages back is set before pyarrow loads, by :mod:`cli.allocator`."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_use_jemalloc()


class _Mapping(Protocol):
    CURRENCY: str
    PERIOD: str
    ACCOUNT: str

    def columns_to_read(self, header: list[str]) -> list[str]: ...

    def normalise(self, batch: Batch) -> pa.RecordBatch: ...


MAPPINGS: dict[Format, _Mapping] = {Format.LEGACY_CUR: legacy, Format.CUR2: cur2, Format.FOCUS: focus}


class Reader:
    """Iterate over a file's normalised batches; ``rows``, ``bytes_read`` and ``currency`` follow along."""

    def __init__(
        self,
        location: str,
        filesystem: pafs.FileSystem | None = None,
        *,
        block_size: int | None = None,
        batch_rows: int = BATCH_ROWS,
        hash_csv: bool = False,
    ) -> None:
        self.source = Source.open(location, filesystem)
        self.block_size = block_size_for(self.source.size) if block_size is None else block_size
        self.batch_rows = batch_rows
        self.hash_csv = hash_csv  # a plain CSV's digest computed from what the parse reads (see digest())
        self.header = self._header()
        self.format = detect(self.header, file=self.source.name)
        mapping = MAPPINGS[self.format]
        self._refuse_duplicates(mapping)
        self._required = self._required_values(mapping)
        self.rows = 0
        self.currency: str | None = None
        self._raw: pa.NativeFile | None = None
        self._bytes = 0
        self._hashing: ChunkDigest | None = None

    @property
    def name(self) -> str:
        return self.source.name

    def digest(self) -> str | None:
        """With ``hash_csv``, the file's digest (cost.digests) when it is a plain CSV the parse read to its end (else
        None)."""
        return None if self._hashing is None else self._hashing.hexdigest()

    def bytes_read(self) -> int:
        """Bytes of the file consumed so far (compressed bytes for .gz/.zip), as of the last batch."""
        return self._bytes

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        # Three stages on three threads: parsing, normalising (both here), and the caller's partitioning and
        # Parquet writing. Arrow releases the GIL in all of them, so a file keeps every core busy (measured:
        # with normalising on the caller's thread, that thread was the bottleneck at ~1.4 cores).
        mapping = MAPPINGS[self.format]
        for normalised, rows, consumed in prefetch(self._normalised(mapping)):
            self.rows = rows
            self._bytes = consumed
            yield normalised
        if not self.rows:
            raise EmptyFileError(self.name, "header present but no data rows")
        self._bytes = self.source.size

    def _normalised(self, mapping: _Mapping) -> Iterator[tuple[pa.RecordBatch, int, int]]:
        """``(normalised batch, data rows so far, bytes consumed so far)``, in file order."""
        rows = 0
        for data, consumed in prefetch(self._parsed(mapping)):
            batch = Batch(data, self.name, rows + 1)
            self._check(batch, mapping)
            normalised = mapping.normalise(batch)
            rows += data.num_rows
            yield normalised, rows, consumed

    def _refuse_duplicates(self, mapping: _Mapping) -> None:
        seen: set[str] = set()
        for name in mapping.columns_to_read(self.header):
            if name in seen:
                raise DuplicateColumnError(
                    self.name,
                    "the header has this column more than once; which one holds the values is ambiguous",
                    row=0,
                    column=name,
                )
            seen.add(name)

    def _required_values(self, mapping: _Mapping) -> tuple[str, ...]:
        """Columns that must have a value in every row (the FOCUS account is checked on its own)."""
        required = set(REQUIRED[self.format]) | {mapping.PERIOD}
        if mapping is focus:
            if not focus.has_account(self.header):
                raise UnknownFormatError(
                    self.name,
                    f"header looks like {self.format.value} but lacks required column(s) "
                    f"{focus.ACCOUNT} or {focus.BILLING_ACCOUNT}",
                )
        else:
            required.add(mapping.ACCOUNT)
        return tuple(sorted(required))

    def _parsed(self, mapping: _Mapping) -> Iterator[tuple[pa.RecordBatch, int]]:
        columns = mapping.columns_to_read(self.header)
        raw_batches = self._parquet(columns) if self.source.kind == "parquet" else self._csv(columns)
        for data, consumed in _regroup(raw_batches, self.batch_rows):
            yield data, min(consumed, self.source.size)

    def _tell(self) -> int:
        raw = self._raw
        return raw.tell() if raw is not None and not raw.closed else 0

    def _header(self) -> list[str]:
        if self.source.kind == "parquet":
            with self.source.filesystem.open_input_file(self.source.path) as handle:
                try:
                    names: list[str] = pq.ParquetFile(handle).schema_arrow.names
                    return names
                except pa.ArrowInvalid as exc:  # not recognised yet: quote nothing of it
                    raise CorruptFileError(self.name, "not a readable Parquet file") from exc
        return self.source.csv_header()

    def _csv(self, columns: list[str]) -> Iterator[tuple[pa.RecordBatch, int]]:
        null_values = list(focus.NULL_VALUES) if self.format is Format.FOCUS else [""]
        convert = pacsv.ConvertOptions(
            include_columns=columns,
            column_types=dict.fromkeys(columns, pa.string()),
            null_values=null_values,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        with self.source.csv_stream() as (stream, raw):
            self._raw = raw
            if self.hash_csv and self.source.kind == "csv":  # the file as stored: hash the chunks the parse cuts
                self._hashing = ChunkDigest()
            try:
                yield from self._csv_chunks(stream, raw, columns, convert)
            except InputError:
                raise
            except (pa.ArrowInvalid, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise CorruptFileError(self.name, _csv_reason(exc, self.source.kind), row=None) from exc
            finally:
                if self._hashing is not None:
                    self._hashing.close()  # the chunks are no longer cut (their thread is stopped)

    def _csv_chunks(
        self, stream: object, raw: pa.NativeFile, columns: list[str], convert: pacsv.ConvertOptions
    ) -> Iterator[tuple[pa.RecordBatch, int]]:
        tail = sentinel(len(self.header))
        header, chunks = split(stream, raw, size=self.block_size, reserve=len(tail) + 64)
        if self._hashing is not None:
            chunks = self._hashing.feed(header, chunks)
        names = _header_names(header)
        if names is None or len(names) < 2:
            # A quoted newline in the header: let Arrow's serial reader read the header itself.
            whole_file = itertools.chain([memoryview(header)], (c.data for c in chunks))
            yield from self._serial(Joined(whole_file), None, convert)
            return
        tail = sentinel(len(names))
        conversion = _Conversion.of(convert)
        check = next((names.index(c) for c in columns if names.index(c) > 0), None)
        with ThreadPoolExecutor(PARSERS, thread_name_prefix="cost-csv") as pool:
            window: deque[tuple[Chunk, Future[pa.Table | None]]] = deque()
            source = prefetch(chunks, depth=2)
            lock = threading.Lock()

            def submit() -> bool:
                chunk = next(source, None)
                if chunk is None:
                    return False
                if chunk.whole:
                    parse = pool.submit(_parse_chunk, chunk.followed_by(tail), names, conversion, check)
                else:
                    parse = Future()
                    parse.set_result(None)
                window.append((chunk, parse))
                return True

            try:
                while len(window) < WINDOW and submit():
                    pass
                while window:
                    chunk, parse = window.popleft()
                    table = parse.result() if chunk.whole else None
                    consumed = chunk.consumed
                    if table is None and window and window[0][0].whole:
                        # The chunk ended inside a quoted value (or is malformed): try it with the next one.
                        following, _ = window.popleft()
                        merged = bytearray(bytes(chunk.data) + bytes(following.data) + b"\0" * (len(tail) + 1))
                        joined = Chunk(merged, chunk.size + following.size, following.consumed)
                        table = _parse_chunk(joined.followed_by(tail), names, conversion, check)
                        chunk, consumed = joined, following.consumed
                    if table is None:
                        ahead = [c.data for c, _ in window]
                        window.clear()
                        rest = Joined(itertools.chain([chunk.data], ahead, (c.data for c in source)), lock)
                        yield from self._serial(rest, names, convert)
                        return
                    while len(window) < WINDOW and submit():
                        pass
                    for batch in table.to_batches():
                        yield batch, consumed
            finally:
                for _, parse in window:
                    parse.cancel()
                with lock:  # Arrow's read-ahead of the serial fallback may be pulling chunks
                    source.close()  # stops the cutting thread before the stream closes

    def _serial(
        self, stream: Joined, names: list[str] | None, convert: pacsv.ConvertOptions
    ) -> Iterator[tuple[pa.RecordBatch, int]]:
        read = pacsv.ReadOptions(block_size=SERIAL_BLOCK_SIZE, use_threads=True, column_names=names)
        # Quote-aware block boundaries: the fallback is for files whose values span lines.
        parse = pacsv.ParseOptions(newlines_in_values=True)
        reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        try:
            for batch in reader:
                yield batch, self._tell()
        finally:
            reader.close()  # no read-ahead may still pull from the chunks once the stream is given up

    def _parquet(self, columns: list[str]) -> Iterator[tuple[pa.RecordBatch, int]]:
        with self.source.filesystem.open_input_file(self.source.path) as handle:
            self._raw = handle
            try:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
                    yield batch, self._tell()
            except InputError:
                raise
            except pa.ArrowInvalid as exc:
                raise CorruptFileError(self.name, f"unreadable Parquet data after row {self.rows} ({exc})") from exc

    def _check(self, batch: Batch, mapping: _Mapping) -> None:
        for column in self._required:
            _require(batch, batch.data.column(column), column, "value is required")
        if mapping is focus:
            _require(
                batch,
                focus.account_ids(batch),
                focus.ACCOUNT,
                f"value is required ({focus.ACCOUNT}, or {focus.BILLING_ACCOUNT} for charges at billing-account level)",
            )
        if mapping.CURRENCY not in batch.data.schema.names:
            return
        currency = batch.data.column(mapping.CURRENCY)
        if self.currency is None:
            valid = currency.drop_null()
            if not len(valid):
                return
            self.currency = valid[0].as_py()
        differs = pc.fill_null(pc.not_equal(currency, self.currency), False)
        if pc.any(differs).as_py():
            index = pc.index(differs, True).as_py()
            raise MixedCurrencyError(
                self.name,
                f"currency {currency[index].as_py()!r} differs from {self.currency!r} of earlier rows; "
                "one file must have one billing currency",
                row=batch.first_row + index,
                column=mapping.CURRENCY,
            )


def block_size_for(size: int) -> int:
    """The chunk size of a CSV of ``size`` bytes as stored (see :data:`LARGE_BLOCK_SIZE`)."""
    return min(LARGE_BLOCK_SIZE, max(BLOCK_SIZE, size // CHUNKS_PER_FILE))


def _require(batch: Batch, values: pa.Array, column: str, reason: str) -> None:
    if values.null_count:
        first = pc.index(values.is_null(), True).as_py()
        raise InvalidValueError(batch.file, reason, row=batch.first_row + first, column=column)


def _csv_reason(exc: BaseException, kind: str) -> str:
    """Arrow's parse errors are about a recognised billing file and may quote it; an OSError may carry an
    object store's answer, so only its kind is said."""
    if kind in ("gzip", "zip") and not isinstance(exc, pa.ArrowInvalid):
        return "truncated or corrupt compressed data"
    if isinstance(exc, pa.ArrowInvalid):
        return f"malformed CSV ({exc})"
    return "the file could not be read to its end"


def _header_names(header: bytes) -> list[str] | None:
    """The column names as Arrow reads them from the header line (``None``: a quoted newline in it)."""
    if header.count(b'"') % 2:
        return None
    read = pacsv.ReadOptions(use_threads=False)
    names: list[str] = pacsv.read_csv(pa.py_buffer(header), read_options=read).column_names
    return names


def _parse_chunk(data: memoryview, names: list[str], conversion: _Conversion, check: int | None) -> pa.Table | None:
    """Parse a chunk followed by its sentinel row; ``None`` when the chunk is not proved to be whole rows."""
    # One block, so one parse task; use_threads=False would start (and end) a thread per call (measured:
    # one clone per chunk, seconds of system time on a large file).
    read = pacsv.ReadOptions(column_names=names, use_threads=True, block_size=len(data) + 1)
    # ASCII is valid UTF-8: Arrow's per-value check (~12 % of the parse) cannot fail; one scan proves it.
    convert = conversion.ascii if _is_ascii(data) else conversion.checked
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=read, convert_options=convert)
    except pa.ArrowInvalid:
        return None
    last = table.num_rows - 1
    if last < 0 or (check is not None and table.column(names[check])[last].as_py() != SENTINEL_VALUE):
        return None
    return table.slice(0, last)


def _is_ascii(data: memoryview) -> bool:
    # numpy's max is vectorised and lets go of the GIL (bytes.isascii measured 2.4x slower, holding it on a
    # parser thread). Only the view: a recycled chunk buffer's spare room holds an earlier chunk's bytes.
    if not isinstance(data.obj, bytes | bytearray):
        return False
    return not len(data) or int(np.frombuffer(data, dtype=np.uint8).max()) < 0x80


@dataclass(frozen=True)
class _Conversion:
    checked: pacsv.ConvertOptions
    ascii: pacsv.ConvertOptions  # the same without the UTF-8 check

    @classmethod
    def of(cls, convert: pacsv.ConvertOptions) -> _Conversion:
        unchecked = copy.copy(convert)
        unchecked.check_utf8 = False
        return cls(convert, unchecked)


def _regroup(batches: Iterable[tuple[pa.RecordBatch, int]], rows: int) -> Iterator[tuple[pa.RecordBatch, int]]:
    """Coalesce small parser blocks into batches of at least ``rows`` rows (one copy of the text)."""
    group: list[pa.RecordBatch] = []
    count = 0
    consumed = 0
    for batch, consumed in batches:
        if not batch.num_rows:
            continue
        group.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield _combine(group), consumed
            group, count = [], 0
    if group:
        yield _combine(group), consumed


def _combine(group: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(group) == 1:
        return group[0]
    return pa.Table.from_batches(group).combine_chunks().to_batches()[0]
