"""Reading the normalised rows (not sums) of a scope's accounts for one billing period.

What re-rating and invoices need: :mod:`cost.billing` works on rows. Like :func:`cost.queries.aggregate` this
takes an :class:`~cost.scope.AccountScope` (only the database can build one) and reads nothing else: the
catalog names the files of exactly those accounts and that period.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from cost.billing.money import check_period
from cost.columns import SCHEMA
from cost.scope import AccountScope
from cost.store import CostStore


def read_rows(
    store: CostStore, scope: AccountScope, period: str, *, columns: Sequence[str] | None = None
) -> pa.Table:
    """Every stored row of ``scope``'s accounts in billing period ``period`` (``YYYY-MM``), as
    :data:`cost.columns.SCHEMA` (or the given subset of its columns); empty when there is none."""
    if not isinstance(scope, AccountScope):
        raise TypeError("scope must be an AccountScope from cost.scope.scope_from_database_rows")
    check_period(period)
    names = list(columns) if columns is not None else SCHEMA.names
    schema = pa.schema([SCHEMA.field(n) for n in names])
    if not scope.accounts:
        return schema.empty_table()
    tables = []
    for stored in store.files(accounts=scope.accounts, periods=[period]):
        with store.filesystem.open_input_file(stored.path) as handle:
            parquet = pq.ParquetFile(handle)
            present = set(parquet.schema_arrow.names)
            table = parquet.read(columns=[n for n in names if n in present], use_threads=False)
        tables.append(_conform(table, schema))
    if not tables:
        return schema.empty_table()
    return pa.concat_tables(tables)


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
