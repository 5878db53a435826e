"""Publishing a complete assembly: all its staged parts become visible in one catalog version.

The assembly's rows replace, for its billing period, everything its catalog source (``assembly:<source>:
<report>``) had there — the previous assembly of that report — and nothing else: readers see the old
assembly or the new one, never a mix, never a part. The catalog remembers which assembly each
(source, period) holds (``assemblies``), so a publication retried after a crash finds itself done.

A locked (closed) period is never changed. With :attr:`~cost.imports.LateData.CORRECTIONS`, the new assembly
is netted against what was billed for that period — the rows the store holds for the source there, plus
corrections re-homed from that period by earlier reissues — and only the difference, summed per line
(every column but the amounts), is published as corrections into the next open period, under the source
``<catalog source>#late:<period>:<assembly key>``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cost.catalog import Catalog, Partitions, StagedFile, add_file
from cost.columns import DECIMAL_COLUMNS, MONEY, SCHEMA, TAGS, TIMESTAMP
from cost.errors import LockedPeriodError
from cost.imports import CORRECTION, CORRECTIONS_DIR, LateData, Rehomed, next_open_period
from cost.partitions import PartitionedWriter
from cost.store import IMPORTS_DIR, CostStore

_MONEY = sorted(DECIMAL_COLUMNS)
_KEYS = [n for n in SCHEMA.names if n not in DECIMAL_COLUMNS and n not in ("BillingPeriodStart", "ChargeClass")]


@dataclass(frozen=True)
class Published:
    version: int
    rows: int
    accounts: tuple[str, ...]
    periods: tuple[str, ...]
    rehomed: tuple[Rehomed, ...]
    already: bool = False


def catalog_source(source_name: str, report: str) -> str:
    return f"assembly:{source_name}:{report}"


def publish_assembly(
    store: CostStore,
    *,
    assembly_id: str,
    source: str,
    period: str,
    assembly_key: str,
    staged: Iterable[Mapping[str, Any]],  # the parts' StagedFile records, as read back from the database
    locked_periods: Collection[str] = (),
    late_data: LateData = LateData.REJECT,
) -> Published:
    """Publish the staged files of every part as one catalog version (see the module's docstring)."""
    if store.operator_id is None:
        raise TypeError("publish into one operator's store: CostStore.for_operator(operator_id)")
    files = list(staged)
    catalog = store.catalog()
    marker = f"{source}|{period}"
    if catalog.get("assemblies", {}).get(marker) == assembly_id:
        return _already(catalog, files)
    locked = set(locked_periods)
    touched = ({period} | {str(f["period"]) for f in files}) & locked
    if touched and late_data is LateData.REJECT:
        raise LockedPeriodError(f"assembly {assembly_key}", sorted(touched)[0])
    regular = [f for f in files if f["period"] not in locked]
    replaced = ({period} | {str(f["period"]) for f in regular}) - locked
    partitions: Partitions = {
        key: {s: e for s, e in sources.items() if not (s == source and key.split("/")[0] in replaced)}
        for key, sources in catalog["partitions"].items()
    }
    for f in regular:
        add_file(partitions, f"{f['period']}/{f['account']}", source, assembly_id, f["path"], f["rows"])
    rehomed: list[Rehomed] = []
    for late_period in sorted(touched):
        target = next_open_period(late_period, locked)
        late_source = f"{source}#late:{late_period}:{assembly_key}"
        billed = _billed_paths(store, catalog, source, late_period)
        new = [f"{store.root}/{f['path']}" for f in files if f["period"] == late_period]
        written, rows = _write_difference(store, assembly_id, late_period, target, new, billed)
        for item in written:
            add_file(partitions, f"{target}/{item['account']}", late_source, assembly_id, item["path"], item["rows"])
        rehomed.append(Rehomed(late_period, target, rows))
    partitions = {key: sources for key, sources in partitions.items() if sources}
    assemblies = {**catalog.get("assemblies", {}), marker: assembly_id}
    version = store.publish({**catalog, "partitions": partitions, "assemblies": assemblies})
    return Published(
        version=version,
        rows=sum(int(f["rows"]) for f in regular) + sum(r.rows for r in rehomed),
        accounts=tuple(sorted({str(f["account"]) for f in regular})),
        periods=tuple(sorted(replaced | {r.target_period for r in rehomed})),
        rehomed=tuple(rehomed),
    )


def _already(catalog: Catalog, files: list[Mapping[str, Any]]) -> Published:
    return Published(
        version=int(catalog["version"]),
        rows=sum(int(f["rows"]) for f in files),
        accounts=tuple(sorted({str(f["account"]) for f in files})),
        periods=tuple(sorted({str(f["period"]) for f in files})),
        rehomed=(),
        already=True,
    )


def _billed_paths(store: CostStore, catalog: Catalog, source: str, period: str) -> list[str]:
    """What was billed for `period` from `source`: its rows there, and corrections re-homed from there."""
    late_prefix = f"{source}#late:{period}:"
    paths: list[str] = []
    for key, sources in catalog["partitions"].items():
        for name, entry in sources.items():
            if (name == source and key.split("/")[0] == period) or name.startswith(late_prefix):
                paths.extend(f"{store.root}/{item['path']}" for item in entry["files"])
    return paths


def _read(store: CostStore, paths: list[str]) -> pa.Table:
    tables = [pq.read_table(p, filesystem=store.filesystem, schema=SCHEMA) for p in paths]
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def _totals(table: pa.Table, sign: int) -> pa.Table:
    """Amounts summed per line; Tags (a map, which Arrow cannot group) by their canonical JSON."""
    tags = pa.array(
        [None if t is None else json.dumps(sorted(t), separators=(",", ":")) for t in table.column("Tags").to_pylist()],
        pa.string(),
    )
    columns = {n: (tags if n == "Tags" else table.column(n)) for n in _KEYS}
    for name in _MONEY:
        values = table.column(name)
        columns[name] = values if sign > 0 else pc.negate(values)
    keyed = pa.table(columns)
    return _renamed(keyed.group_by(_KEYS, use_threads=False).aggregate([(n, "sum") for n in _MONEY]))


def _renamed(table: pa.Table) -> pa.Table:
    return table.rename_columns([n.removesuffix("_sum") for n in table.column_names])


def _write_difference(
    store: CostStore, assembly_id: str, period: str, target: str, new: list[str], billed: list[str]
) -> tuple[list[StagedFile], int]:
    both = pa.concat_tables([_totals(_read(store, new), 1), _totals(_read(store, billed), -1)])
    net = _renamed(both.group_by(_KEYS, use_threads=False).aggregate([(n, "sum") for n in _MONEY]))
    zero = pa.scalar(0, MONEY)
    changed = None
    for name in _MONEY:
        differs = pc.fill_null(pc.not_equal(net.column(name), zero), False)
        changed = differs if changed is None else pc.or_(changed, differs)
    assert changed is not None
    net = net.filter(changed)
    if not net.num_rows:
        return [], 0
    start = datetime.strptime(target, "%Y-%m").replace(tzinfo=UTC)
    tags = pa.array(
        [None if t is None else [tuple(kv) for kv in json.loads(t)] for t in net.column("Tags").to_pylist()], TAGS
    )
    columns = {n: net.column(n) for n in _KEYS if n != "Tags"}
    columns["Tags"] = tags
    columns["BillingPeriodStart"] = pa.array([start] * net.num_rows, TIMESTAMP)
    columns["ChargeClass"] = pa.array([CORRECTION] * net.num_rows, pa.string())
    for name in _MONEY:
        columns[name] = pc.cast(net.column(name), MONEY)
    table = pa.table({f.name: columns[f.name] for f in SCHEMA}, schema=SCHEMA)
    base = f"{store.import_dir(assembly_id)}/{CORRECTIONS_DIR}/{period}"
    writer = PartitionedWriter(store.filesystem, base)
    try:
        for batch in table.to_batches():
            writer.write(batch)
        written = writer.close()
    except BaseException:
        writer.abort()
        raise
    prefix = f"{IMPORTS_DIR}/{assembly_id}/{CORRECTIONS_DIR}/{period}"
    staged: list[StagedFile] = [
        {"period": f.period, "account": f.account, "path": f"{prefix}/{f.path}", "rows": f.rows} for f in written
    ]
    return staged, table.num_rows
