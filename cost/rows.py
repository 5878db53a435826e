"""Reading the normalised rows (not sums) of a scope's accounts for one billing period.

What re-rating and invoices need: :mod:`cost.billing` works on rows. Like :func:`cost.queries.aggregate` this
takes an :class:`~cost.scope.AccountScope` (only the database can build one) and reads nothing else: each
operator's catalog names the files of exactly those accounts and that period, and only the rows charged
while the scope's tenants held the account are returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cost.billing.money import check_period
from cost.columns import SCHEMA, TIMESTAMP
from cost.queries import CHARGE_TIME, charged_within
from cost.scope import ALWAYS, AccountScope, Interval
from cost.store import CostStore


def read_rows(
    store: CostStore,
    scope: AccountScope,
    period: str,
    *,
    columns: Sequence[str] | None = None,
    overlapping: bool = False,
) -> pa.Table:
    """Every stored row of ``scope``'s holdings in billing period ``period`` (``YYYY-MM``), as
    :data:`cost.columns.SCHEMA` (or the given subset of its columns); empty when there is none.

    A row counts when its charge time lies in one of its account's intervals in scope, as in
    :func:`cost.queries.aggregate`; with ``overlapping``, when its charge period overlaps one (for callers
    that split rows at assignment boundaries themselves, as :mod:`cost.billing.groups` does, pro rata by time).
    Each account is read from its own operator's store."""
    if not isinstance(scope, AccountScope):
        raise TypeError("scope must be an AccountScope from cost.scope.scope_from_database_rows")
    check_period(period)
    names = list(columns) if columns is not None else SCHEMA.names
    schema = pa.schema([SCHEMA.field(n) for n in names])
    tables = []
    for operator_id in sorted(scope.operators, key=str):
        operator_store = store.for_operator(operator_id)
        for stored in operator_store.files(accounts=scope.accounts_of(operator_id), periods=[period]):
            intervals = scope.intervals(operator_id, stored.account)
            if not intervals:
                continue
            when = (overlapping_within if overlapping else charged_within)(intervals)
            wanted = names if when is None else list(dict.fromkeys([*names, *_TIME_COLUMNS]))
            with operator_store.filesystem.open_input_file(stored.path) as handle:
                parquet = pq.ParquetFile(handle)
                present = set(parquet.schema_arrow.names)
                table = parquet.read(columns=[n for n in wanted if n in present], use_threads=False)
            if when is not None:
                table = _conform(table, pa.schema([SCHEMA.field(n) for n in wanted])).filter(when)
            tables.append(_conform(table, schema))
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables)


_TIME_COLUMNS = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart")


def overlapping_within(intervals: Sequence[Interval]) -> pc.Expression | None:
    """Rows whose charge period ``[start, end)`` (an instant when it has no end) overlaps an interval."""
    if tuple(intervals) == ALWAYS:
        return None
    end = pc.coalesce(pc.field("ChargePeriodEnd"), CHARGE_TIME)
    parts = []
    for lo, hi in intervals:
        bounds = []
        if lo is not None:
            low = pa.scalar(lo, TIMESTAMP)
            bounds.append((end > low) | (low <= CHARGE_TIME))
        if hi is not None:
            bounds.append(pa.scalar(hi, TIMESTAMP) > CHARGE_TIME)
        parts.append(bounds[0] & bounds[1] if len(bounds) == 2 else bounds[0])
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part
    return combined


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Columns in schema order and types; a column absent from an older file is all nulls."""
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            arrays.append(column if column.type == field.type else column.cast(field.type))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    return pa.table(arrays, schema=schema)
