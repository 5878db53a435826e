"""Statements built and compiled once, run on the request's driver connection with rows as tuples.

A request's hot statements (a keyset page, users and tenants by id, the portfolio) have one text per shape,
so building the SQLAlchemy statement, its cache key and its compiled form on every request buys nothing. A
:class:`CompiledQuery` holds the text with psycopg's placeholders, compiled at import by the same dialect the
engine uses; `RequestTransaction.fetch` runs it on the transaction's psycopg connection with the same
guarantees as `execute` (the context bound first, one statement at a time, errors mapped). The driver's own
settings apply as they do to every statement: its adapters, and `prepare_threshold` (prepared after that many
executions, never with `?prepare_threshold=none`, db/location.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from sqlalchemy import Column, Table
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

R = TypeVar("R")

# The engine's dialect (postgresql+psycopg); nothing compiled here depends on the server's version.
_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class CompiledQuery:
    """`sql` with `%(name)s` placeholders for `params`; `columns` names the result's columns, in order."""

    sql: str
    params: tuple[str, ...]
    columns: tuple[str, ...]
    # A type's conversion of a bound value where the driver does not adapt it natively (a JSON document, an
    # array's items), and the values the statement bound itself.
    processors: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()
    _given: frozenset[str] = field(init=False, repr=False, compare=False)

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's parameters: every name of `params` the statement did not bind itself, no other."""
        if values.keys() != self._given:
            raise ValueError(f"{sorted(self._given)} are the parameters, not {sorted(values)}")
        bound = dict(self.fixed)
        bound.update(values)
        for name, process in self.processors:
            if bound[name] is not None:
                bound[name] = process(bound[name])
        return bound

    def __post_init__(self) -> None:
        object.__setattr__(self, "_given", frozenset(self.params) - {name for name, _ in self.fixed})


def compiled(statement: Executable, record: type | None = None) -> CompiledQuery:
    """`statement` compiled for psycopg. With `record` (a dataclass), its fields must be the statement's
    columns in order, so rows become records positionally (:func:`records_of`)."""
    assert isinstance(statement, ClauseElement)
    compiled_ = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled_, SQLCompiler)
    columns = tuple(str(c[0]) for c in getattr(compiled_, "_result_columns", ()))
    if record is not None:
        names = tuple(f.name for f in fields(record))
        if names != columns:
            raise ValueError(f"{record.__name__} has fields {names}, the statement returns {columns}")
    processors = getattr(compiled_, "_bind_processors", {})
    values = compiled_.construct_params(_check=False) or {}
    params = tuple(compiled_.bind_names[b] for b in compiled_.binds.values())
    return CompiledQuery(
        sql=compiled_.string,
        params=tuple(dict.fromkeys(params)),
        columns=columns,
        processors=tuple((name, p) for name, p in processors.items() if p is not None),
        fixed=tuple((name, v) for name, v in values.items() if v is not None),
    )


def columns_of(table: Table, record: type) -> list[Column[Any]]:
    """`table`'s columns in the order of `record`'s fields (what :func:`compiled` checks)."""
    return [table.c[f.name] for f in fields(record)]


# A record class's field names, when its rows may be filled in directly (see records_of); None: by its constructor.
_DIRECT_FIELDS: dict[type, tuple[str, ...] | None] = {}


def records_of(record: type[R], rows: Iterable[tuple[Any, ...]]) -> list[R]:
    """`record(*row)` for each row of a statement compiled with `record` (its fields are the columns, in order).

    A frozen dataclass's `__init__` sets every field through `object.__setattr__`: six times the cost of a
    plain one (≈ 2.7 µs for nine fields, 21 of them a page). A dataclass whose fields all come from the row (no
    `__post_init__`, which validates some records, no `__slots__`, no field left to a default) gets its
    fields filled into its `__dict__` instead: the same object, equal and hashed as the constructor's, frozen
    as before."""
    names = _DIRECT_FIELDS.get(record, ())
    if names == ():
        names = _DIRECT_FIELDS[record] = _direct_fields(record)
    if names is None:
        return [record(*row) for row in rows]
    made: list[R] = []
    new = object.__new__
    for row in rows:
        instance = new(record)
        instance.__dict__.update(zip(names, row, strict=True))
        made.append(instance)
    return made


def _direct_fields(record: type) -> tuple[str, ...] | None:
    params = getattr(record, "__dataclass_params__", None)
    if params is None or not params.init or hasattr(record, "__post_init__") or hasattr(record, "__slots__"):
        return None
    declared = fields(record)
    if not all(f.init for f in declared):
        return None
    return tuple(f.name for f in declared)
