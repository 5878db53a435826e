"""Import one billing file into a :class:`~cost.store.CostStore`: read, normalise, partition, publish."""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from cost.catalog import Catalog, ImportRecord, Partitions, RehomedRecord, add_file
from cost.columns import TIMESTAMP
from cost.digests import BackgroundDigest, file_digest, file_sha256
from cost.errors import LockedPeriodError
from cost.partitions import PartitionedWriter, PartitionFile, periods_in
from cost.readers import Reader
from cost.scratch import ScratchDirectory
from cost.sources import Source
from cost.store import IMPORTS_DIR, CostStore

Progress = Callable[[int, int], None]
CORRECTION = "Correction"  # FOCUS ChargeClass of late rows re-homed out of a closed period
# Re-homed rows are written under their own folder and published under their own source (see import_file).
CORRECTIONS_DIR = "corrections"


class LateData(enum.StrEnum):
    """What an import does with rows of a locked (closed) billing period.

    ``REJECT`` (default): the whole import fails with :class:`LockedPeriodError`, nothing is published, so an
    explicit replacement of a closed month is refused. ``CORRECTIONS``: each such row is re-homed to the first
    period after its own that is not locked (``BillingPeriodStart`` = that period's first instant, UTC;
    ``ChargeClass`` = ``Correction``; everything else unchanged), i.e. a closed period never changes.
    """

    REJECT = "reject"
    CORRECTIONS = "corrections"


@dataclass(frozen=True)
class Rehomed:
    """Rows of locked period ``source_period`` that this import moved into ``target_period``."""

    source_period: str
    target_period: str
    rows: int

    def to_record(self) -> RehomedRecord:
        return {"source_period": self.source_period, "target_period": self.target_period, "rows": self.rows}

    @classmethod
    def from_record(cls, record: RehomedRecord) -> Rehomed:
        return cls(record["source_period"], record["target_period"], record["rows"])


@dataclass(frozen=True)
class ImportResult:
    digest: str  # the file's identity in the catalog (cost.digests)
    rows: int
    bytes: int
    periods: tuple[str, ...]
    accounts: tuple[str, ...]
    currency: str | None
    format: str
    source: str
    version: int
    already_imported: bool = False
    rehomed: tuple[Rehomed, ...] = field(default=())

    def to_record(self) -> ImportRecord:
        """What the catalog keeps of this import, under its digest (whether it was a duplicate is not part of it)."""
        return {
            "rows": self.rows,
            "bytes": self.bytes,
            "periods": list(self.periods),
            "accounts": list(self.accounts),
            "currency": self.currency,
            "format": self.format,
            "source": self.source,
            "version": self.version,
            "rehomed": [r.to_record() for r in self.rehomed],
        }

    @classmethod
    def from_record(cls, digest: str, record: ImportRecord, *, already_imported: bool) -> ImportResult:
        return cls(
            digest=digest,
            rows=record["rows"],
            bytes=record["bytes"],
            periods=tuple(record["periods"]),
            accounts=tuple(record["accounts"]),
            currency=record["currency"],
            format=record["format"],
            source=record["source"],
            version=record["version"],
            already_imported=already_imported,
            rehomed=tuple(Rehomed.from_record(r) for r in record.get("rehomed", ())),
        )


def import_file(
    path: str,
    store: CostStore,
    *,
    on_progress: Progress | None = None,
    locked_periods: Collection[str] = (),
    source: str | None = None,
    filesystem: pafs.FileSystem | None = None,
    digest: str | None = None,
    late_data: LateData = LateData.REJECT,
) -> ImportResult:
    """Import ``path`` (local path or URI) into ``store``, one operator's store, and publish it atomically.

    Same content (its digest, cost.digests) already imported into this operator's store → returns the stored result with
    ``already_imported=True``;
    nothing is read beyond hashing (pass ``digest`` when already known, e.g. from the manifest).
    ``on_progress(bytes_read, rows)`` is called after every batch (bytes of the file as stored, i.e.
    compressed bytes for ``.gz``/``.zip``).
    A period in ``locked_periods`` (``"YYYY-MM"``) → :class:`LockedPeriodError`, nothing published, unless
    ``late_data`` is :attr:`LateData.CORRECTIONS`: then its rows are re-homed as corrections into the first
    later period that is not locked (see :class:`LateData`; ``ImportResult.rehomed`` says which moved where).
    Re-homed rows are published under a source of their own (``<source>#late:<digest>``), so they add to the
    target period's data instead of replacing that source's regular rows there, and a later import of the
    source for the target period leaves them in place. The late-data mode is not part of the content: a file
    whose digest was imported before stays a no-op duplicate whatever the mode (a file refused under
    ``REJECT`` published nothing, so it can be imported again with ``CORRECTIONS``).
    Any error → the import's folder is removed and the store is exactly as before.
    """
    if store.operator_id is None:
        raise TypeError("import into one operator's store: CostStore.for_operator(operator_id)")
    catalog = store.catalog()
    identity: _Identity
    if digest is not None:
        identity = digest
    elif _may_repeat(catalog, (file := Source.open(path, filesystem)).size):
        identity = file_digest(path, filesystem)  # first, so that a re-import parses and writes nothing
        if identity not in catalog["imports"]:
            identity = _recorded_by_sha256(catalog, path, filesystem, file.size) or identity
    elif file.kind == "csv":
        identity = None  # no import had this size: the parse hashes the bytes it reads (read once)
    else:
        identity = BackgroundDigest(path, filesystem)  # compressed or Parquet: hashed as stored, beside the parse
    if isinstance(identity, str) and identity in catalog["imports"]:
        return ImportResult.from_record(identity, catalog["imports"][identity], already_imported=True)
    try:
        return _import(path, store, catalog, identity, filesystem, locked_periods, source, late_data, on_progress)
    finally:
        if isinstance(identity, BackgroundDigest):
            identity.cancel()


# The digest when known, its hash in progress, or None: hashed by the parse itself (Reader.digest).
_Identity = BackgroundDigest | str | None


def _may_repeat(catalog: Catalog, size: int) -> bool:
    return any(record["bytes"] == size for record in catalog["imports"].values())


def _recorded_by_sha256(catalog: Catalog, path: str, filesystem: pafs.FileSystem | None, size: int) -> str | None:
    """The key of a record written before BLAKE3 (cost.digests) for this file, if one of its size exists."""
    if not any(record["bytes"] == size and "sha256" in record for record in catalog["imports"].values()):
        return None
    sha256 = file_sha256(path, filesystem)
    return sha256 if sha256 in catalog["imports"] else None


def _import(
    path: str,
    store: CostStore,
    catalog: Catalog,
    identity: _Identity,
    filesystem: pafs.FileSystem | None,
    locked_periods: Collection[str],
    source: str | None,
    late_data: LateData,
    on_progress: Progress | None,
) -> ImportResult:
    reader = Reader(path, filesystem, hash_csv=identity is None)
    import_id = uuid.uuid4().hex
    base = store.import_dir(import_id)
    try:
        written = _write_into(store, base, reader, locked_periods, late_data, on_progress)
        digest = _digest(identity, reader, path, filesystem)
    except BaseException:
        _remove(store, base)
        raise
    if digest in catalog["imports"]:  # only when the file changed after it was sized: the hash decides
        _remove(store, base)
        return ImportResult.from_record(digest, catalog["imports"][digest], already_imported=True)
    source = source or f"{reader.format.value}:{'+'.join(sorted(written.billing_accounts)) or 'unknown'}"
    files = written.files + written.corrections
    periods = tuple(sorted({f.period for f in files}))
    accounts = tuple(sorted({f.account for f in files}))
    try:
        partitions = _partitions_with(catalog["partitions"], written, import_id, source, f"{source}#late:{digest}")
        result = ImportResult(
            digest=digest,
            rows=reader.rows,
            bytes=reader.source.size,
            periods=periods,
            accounts=accounts,
            currency=reader.currency,
            format=reader.format.value,
            source=source,
            version=catalog["version"] + 1,
            rehomed=written.rehomed,
        )
        store.publish(
            {**catalog, "imports": {**catalog["imports"], digest: result.to_record()}, "partitions": partitions}
        )
    except BaseException:
        _remove(store, base)
        raise
    if on_progress is not None:
        on_progress(reader.source.size, reader.rows)
    return result


def _partitions_with(
    partitions: Partitions, written: _Written, import_id: str, source: str, late_source: str
) -> Partitions:
    """The catalog's partitions with this import's files published under `source` (corrections under
    `late_source`); only the regular rows replace what the source had for their periods, corrections only add."""
    replaced = {f.period for f in written.files}
    out: Partitions = {
        key: {s: entry for s, entry in sources.items() if not (s == source and key.split("/")[0] in replaced)}
        for key, sources in partitions.items()
    }
    for f, name in [(f, source) for f in written.files] + [(f, late_source) for f in written.corrections]:
        # The source's earlier entries for these periods were dropped above; a late source is this import's own.
        add_file(out, f"{f.period}/{f.account}", name, import_id, f"{IMPORTS_DIR}/{import_id}/{f.path}", f.rows)
    return {key: sources for key, sources in out.items() if sources}


def _digest(identity: _Identity, reader: Reader, path: str, filesystem: pafs.FileSystem | None) -> str:
    if isinstance(identity, str):
        return identity
    if isinstance(identity, BackgroundDigest):
        return identity.result()
    # The parse read the whole file through its hash; should it not have, the file is read again.
    return reader.digest() or file_digest(path, filesystem)


def stage(reader: Reader, store: CostStore, base: str, on_progress: Progress | None = None) -> list[PartitionFile]:
    """Write every row of `reader` under `base` (a folder of `store`), unpublished; paths are relative to `base`.

    The unit an assembly's part job writes (cost.assemblies publishes the parts together). On error the
    folder is removed."""
    try:
        return _write_into(store, base, reader, (), LateData.REJECT, on_progress).files
    except BaseException:
        _remove(store, base)
        raise


def _write_into(
    store: CostStore,
    base: str,
    reader: Reader,
    locked_periods: Collection[str],
    late_data: LateData,
    on_progress: Progress | None,
) -> _Written:
    if store.is_local:
        return _write(reader, store.filesystem, base, locked_periods, late_data, on_progress)
    # An object store would hold one multipart upload buffer per open partition file (hundreds);
    # spool to local disk instead and upload the finished files one by one: memory stays flat.
    with ScratchDirectory("import") as scratch:
        spool = scratch.path
        local = pafs.LocalFileSystem()
        written = _write(reader, local, spool, locked_periods, late_data, on_progress)
        for f in written.files + written.corrections:
            store.filesystem.create_dir(f"{base}/{f.path.rsplit('/', 1)[0]}", recursive=True)
            pafs.copy_files(
                f"{spool}/{f.path}",
                f"{base}/{f.path}",
                source_filesystem=local,
                destination_filesystem=store.filesystem,
            )
        return written


@dataclass
class _Written:
    files: list[PartitionFile]
    corrections: list[PartitionFile]  # relative to the same base, under CORRECTIONS_DIR/
    billing_accounts: set[str]
    rehomed: tuple[Rehomed, ...]


def _write(
    reader: Reader,
    filesystem: pafs.FileSystem,
    base: str,
    locked_periods: Collection[str],
    late_data: LateData,
    on_progress: Progress | None,
) -> _Written:
    locked = set(locked_periods)
    writer = PartitionedWriter(filesystem, base)
    late_writer: PartitionedWriter | None = None
    moved: Counter[tuple[str, str]] = Counter()
    billing_accounts: set[str] = set()
    try:
        for batch in reader:
            late = [p for p in periods_in(batch) if p in locked]
            if late and late_data is LateData.REJECT:
                raise LockedPeriodError(reader.name, late[0])
            billing_accounts.update(a for a in pc.unique(batch.column("BillingAccountId")).to_pylist() if a)
            if late:
                if late_writer is None:
                    late_writer = PartitionedWriter(filesystem, f"{base}/{CORRECTIONS_DIR}")
                regular, corrections, counts = rehome(batch, locked)
                moved.update(counts)
                if corrections.num_rows:
                    late_writer.write(corrections)
                batch = regular
            if batch.num_rows:
                writer.write(batch)
            if on_progress is not None:
                on_progress(reader.bytes_read(), reader.rows)
        files = writer.close()
        corrections = [] if late_writer is None else late_writer.close()
        rehomed = tuple(Rehomed(s, t, n) for (s, t), n in sorted(moved.items()))
        return _Written(
            files,
            [PartitionFile(f.period, f.account, f"{CORRECTIONS_DIR}/{f.path}", f.rows) for f in corrections],
            billing_accounts,
            rehomed,
        )
    except BaseException:
        writer.abort()
        if late_writer is not None:
            late_writer.abort()
        raise


def next_open_period(period: str, locked: Collection[str]) -> str:
    """The first ``YYYY-MM`` after ``period`` that is not in ``locked``."""
    year, month = map(int, period.split("-"))
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        candidate = f"{year:04d}-{month:02d}"
        if candidate not in locked:
            return candidate


def rehome(
    batch: pa.RecordBatch, locked: Collection[str]
) -> tuple[pa.RecordBatch, pa.RecordBatch, dict[tuple[str, str], int]]:
    """Split ``batch`` into its rows of open periods (unchanged) and its rows of ``locked`` periods re-homed as
    corrections; also returns ``{(locked period, target period): rows}``.

    Vectorised: only the batch's distinct BillingPeriodStart values are looked at in Python.
    """
    column = batch.column("BillingPeriodStart")
    distinct = pc.unique(column)
    names = pc.strftime(distinct, format="%Y-%m").to_pylist()
    late_starts, targets, pairs = [], [], []
    for start, name in zip(distinct.to_pylist(), names, strict=True):
        if name in locked:
            target = next_open_period(name, locked)
            late_starts.append(start)
            targets.append(datetime.strptime(target, "%Y-%m").replace(tzinfo=UTC))
            pairs.append((name, target))
    if not late_starts:
        return batch, batch.slice(0, 0), {}
    index = pc.index_in(column, value_set=pa.array(late_starts, type=column.type))
    is_late = pc.is_valid(index)
    late_index = pc.filter(index, is_late)
    corrections = batch.filter(is_late)
    new_start = pc.take(pa.array(targets, type=TIMESTAMP), late_index).cast(column.type)
    charge_class = pa.repeat(pa.scalar(CORRECTION, pa.string()), corrections.num_rows)
    schema = batch.schema
    corrections = corrections.set_column(
        schema.get_field_index("BillingPeriodStart"), schema.field("BillingPeriodStart"), new_start
    )
    corrections = corrections.set_column(
        schema.get_field_index("ChargeClass"), schema.field("ChargeClass"), charge_class
    )
    counts = pc.value_counts(late_index)
    tally = {
        pairs[i]: n for i, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
    }
    return batch.filter(pc.invert(is_late)), corrections, tally


def _remove(store: CostStore, base: str) -> None:
    fs = store.filesystem
    if fs.get_file_info(base).type != pafs.FileType.NotFound:
        fs.delete_dir(base)
    parent = base.rsplit("/", 1)[0]
    # Leave no empty imports/ folder behind either, so a failed first import leaves the root as it was.
    if (
        store.is_local
        and fs.get_file_info(parent).type == pafs.FileType.Directory
        and not fs.get_file_info(pafs.FileSelector(parent))
    ):
        fs.delete_dir(parent)
