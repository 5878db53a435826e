"""Column helpers shared by the readers: typed conversion with precise errors, coalescing, tags."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cost.columns import MONEY, SCHEMA, TAGS, TIMESTAMP
from cost.decimals import to_money
from cost.errors import InvalidValueError


@dataclass(frozen=True)
class Batch:
    """One raw batch read from a file, with what error messages need to point at it."""

    data: pa.RecordBatch
    file: str
    first_row: int  # 1-based data row of data[0]

    def __len__(self) -> int:
        rows: int = self.data.num_rows
        return rows

    def text(self, name: str) -> pa.Array:
        """A string column, or all nulls when the file lacks it this month."""
        index = self.data.schema.get_field_index(name)
        if index < 0:
            return nulls(len(self), pa.string())
        column = self.data.column(index)
        return column if column.type == pa.string() else pc.cast(column, pa.string())

    def money(self, name: str) -> pa.Array:
        index = self.data.schema.get_field_index(name)
        if index < 0:
            return nulls(len(self), MONEY)
        return to_money(self.data.column(index), file=self.file, column=name, first_row=self.first_row)

    def timestamp(self, name: str) -> pa.Array:
        index = self.data.schema.get_field_index(name)
        if index < 0:
            return nulls(len(self), TIMESTAMP)
        return to_timestamp(self.data.column(index), file=self.file, column=name, first_row=self.first_row)

    def fail(self, index: int, column: str, reason: str) -> InvalidValueError:
        return InvalidValueError(self.file, reason, row=self.first_row + index, column=column)


def to_timestamp(values: pa.Array, *, file: str, column: str, first_row: int) -> pa.Array:
    """ISO 8601 text or a timestamp column → UTC microseconds; text without an offset is read as UTC."""
    if pa.types.is_timestamp(values.type):
        if values.type.tz is None:
            return pc.cast(values, pa.timestamp("us")).cast(TIMESTAMP)
        return pc.cast(values, TIMESTAMP)
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), TIMESTAMP)
    try:
        return pc.cast(values, TIMESTAMP)
    except pa.ArrowInvalid:
        pass
    try:
        # FOCUS samples write "2024-09-01 00:00:00" without a zone; FOCUS requires UTC, so read it as UTC.
        return pc.cast(pc.cast(values, pa.timestamp("us")), TIMESTAMP)
    except pa.ArrowInvalid:
        pass
    for index, item in enumerate(values.to_pylist()):
        if item is None:
            continue
        try:
            pc.cast(pa.array([item]), TIMESTAMP)
        except pa.ArrowInvalid:
            try:
                pc.cast(pa.array([item]), pa.timestamp("us"))
            except pa.ArrowInvalid:
                raise InvalidValueError(
                    file, f"{item!r} is not an ISO 8601 timestamp", row=first_row + index, column=column
                ) from None
    raise InvalidValueError(file, "timestamps mix values with and without a UTC offset", column=column)


def nulls(length: int, type_: pa.DataType) -> pa.Array:
    """An all-null array; shared between batches of one length (Arrow arrays are immutable), so a column a
    file lacks costs no fresh zeroed buffer per batch."""
    return _nulls(length, type_)


@functools.lru_cache(maxsize=8)
def _nulls(length: int, type_: pa.DataType) -> pa.Array:
    return pa.nulls(length, type_)


@functools.lru_cache(maxsize=2)
def zeros(length: int) -> pa.Array:
    """``length`` zeros of ``MONEY`` (shared, like :func:`nulls`)."""
    return pa.nulls(length, MONEY).fill_null(pa.scalar(0, MONEY))


def is_all_null(values: pa.Array) -> bool:
    return bool(values.null_count == len(values))


def coalesce(*arrays: pa.Array) -> pa.Array:
    """The first non-null value of each row. Arrays of one type: all-null arrays add nothing, and the first
    array left is the answer when it has no null (no copy)."""
    if len(arrays) == 1:
        return arrays[0]
    if all(a.type == arrays[0].type for a in arrays):
        present = [a for a in arrays if not is_all_null(a)]
        if not present:
            return arrays[0]
        if len(present) == 1 or not present[0].null_count:
            return present[0]
        return pc.coalesce(*present)
    return pc.coalesce(*arrays)


def zero_if_null(values: pa.Array) -> pa.Array:
    if not values.null_count:
        return values
    if values.type == MONEY and is_all_null(values):
        return zeros(len(values))
    return pc.fill_null(values, pa.scalar(0, values.type))


def tags_from_columns(columns: list[tuple[str, pa.Array]], length: int) -> pa.Array:
    """Sparse tag columns (one per key, mostly null) → one ``map<string,string>`` column, vectorised."""
    rows: list[np.ndarray] = []
    key_ids: list[np.ndarray] = []
    values: list[pa.Array] = []
    for key_id, (_, column) in enumerate(columns):
        valid = column.is_valid()
        present = np.flatnonzero(valid.to_numpy(zero_copy_only=False)) if column.null_count else np.arange(length)
        if not len(present):
            continue
        rows.append(present)
        key_ids.append(np.full(len(present), key_id, dtype=np.int32))
        values.append(pc.cast(column.filter(valid), pa.string()))
    if not rows:
        return pa.MapArray.from_arrays(
            pa.array(np.zeros(length + 1, dtype=np.int32)),
            pa.array([], pa.string()),
            pa.array([], pa.string()),
            type=TAGS,
        )
    row_of = np.concatenate(rows)
    order = np.argsort(row_of, kind="stable")
    offsets = np.zeros(length + 1, dtype=np.int32)
    np.cumsum(np.bincount(row_of, minlength=length), out=offsets[1:])
    names = pa.array([name for name, _ in columns], pa.string())
    keys = names.take(pa.array(np.concatenate(key_ids)[order]))
    flat = pa.concat_arrays(values).take(pa.array(order))
    return pa.MapArray.from_arrays(pa.array(offsets), keys, flat, type=TAGS)


def tags_from_json(batch: Batch, name: str) -> pa.Array:
    """A JSON-object text column (FOCUS ``Tags``, CUR 2.0 CSV ``resource_tags``) → ``map<string,string>``."""
    index = batch.data.schema.get_field_index(name)
    if index < 0:
        return pa.nulls(len(batch), TAGS)
    column = batch.data.column(index)
    if pa.types.is_map(column.type):
        return pc.cast(column, TAGS)
    out: list[list[tuple[str, str]] | None] = []
    for i, text in enumerate(column.to_pylist()):
        if text is None or text == "":
            out.append(None)
            continue
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise batch.fail(i, name, f"tags are not valid JSON ({exc.msg})") from None
        if not isinstance(parsed, dict):
            raise batch.fail(i, name, "tags must be a JSON object")
        out.append([(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in parsed.items()])
    return pa.array(out, TAGS)


def json_field(batch: Batch, name: str, key: str) -> pa.Array:
    """One key of a map column (Parquet map, or JSON text in CSV), as strings."""
    index = batch.data.schema.get_field_index(name)
    if index < 0:
        return pa.nulls(len(batch), pa.string())
    column = batch.data.column(index)
    if pa.types.is_map(column.type):
        return pc.cast(pc.map_lookup(column, key, "first"), pa.string())
    # Vectorised extraction of one string member; escaped strings are rare and decoded one by one.
    pattern = '"' + key + r'"\s*:\s*"(?P<v>(?:[^"\\]|\\.)*)"'
    extracted = pc.struct_field(pc.extract_regex(column, pattern), [0])
    if not pc.any(pc.match_substring(extracted, "\\")).as_py():
        return extracted
    return pa.array([None if v is None else json.loads(f'"{v}"') for v in extracted.to_pylist()], pa.string())


def assemble(columns: dict[str, pa.Array]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)
