"""Columnar cost engine: billing files (legacy CUR, CUR 2.0, FOCUS) → exact-decimal Parquet store → queries.

``import_file(path, store)`` reads and normalises a file (:mod:`cost.readers`, schema in
:mod:`cost.columns`), writes it Hive-partitioned and publishes it atomically (:mod:`cost.store`);
``aggregate(store, scope, …)`` sums it for the accounts of an :class:`~cost.scope.AccountScope`, which only
:func:`cost.scope.scope_from_database_rows` can build. Errors: :mod:`cost.errors`.
"""

from cost.errors import CostError, InputError, LockedPeriodError, StoreError
from cost.imports import ImportResult, LateData, Rehomed, import_file
from cost.queries import CostFilter, Dimension, Metric, Tag, aggregate
from cost.scope import AccountScope, scope_from_database_rows
from cost.store import CostStore

__all__ = [
    "AccountScope",
    "CostError",
    "CostFilter",
    "CostStore",
    "Dimension",
    "ImportResult",
    "InputError",
    "LateData",
    "LockedPeriodError",
    "Metric",
    "Rehomed",
    "StoreError",
    "Tag",
    "aggregate",
    "import_file",
    "scope_from_database_rows",
]
