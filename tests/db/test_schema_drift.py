"""The SQLAlchemy Core tables describe the migrated database exactly: every table exists, with the same columns
(both ways), the same types, nullability and primary key. The DDL lives in SQL; this keeps the Python in step."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy import (
    ARRAY,
    CHAR,
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

import db


@dataclass(frozen=True)
class CatalogColumn:
    type: str
    not_null: bool


def _table_modules() -> list[str]:
    return sorted(
        f"db.{info.name}"
        for info in pkgutil.iter_modules(db.__path__)
        if info.name == "tables" or info.name.endswith("_tables")
    )


def _metadata() -> list[MetaData]:
    found: dict[int, MetaData] = {}
    for name in _table_modules():
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, MetaData):
                found[id(value)] = value
    return list(found.values())


def _tables() -> list[Table]:
    return sorted((t for m in _metadata() for t in m.tables.values()), key=lambda t: t.fullname)


def pg_type(sa_type: TypeEngine[object]) -> str:
    """The type as PostgreSQL's format_type() spells it; raises for a type this mapping does not know."""
    if isinstance(sa_type, ARRAY):
        return f"{pg_type(sa_type.item_type)}[]"
    if isinstance(sa_type, JSONB):
        return "jsonb"
    if isinstance(sa_type, JSON):
        return "json"
    if isinstance(sa_type, Uuid):
        return "uuid"
    if isinstance(sa_type, Text):
        return "text"
    if isinstance(sa_type, CHAR):
        return f"character({sa_type.length or 1})"
    if isinstance(sa_type, String):
        return f"character varying({sa_type.length})" if sa_type.length else "character varying"
    if isinstance(sa_type, BigInteger):
        return "bigint"
    if isinstance(sa_type, SmallInteger):
        return "smallint"
    if isinstance(sa_type, Integer):
        return "integer"
    if isinstance(sa_type, Numeric):
        if sa_type.precision is None:
            return "numeric"
        return f"numeric({sa_type.precision},{sa_type.scale or 0})"
    if isinstance(sa_type, Boolean):
        return "boolean"
    if isinstance(sa_type, DateTime):
        return "timestamp with time zone" if sa_type.timezone else "timestamp without time zone"
    if isinstance(sa_type, Date):
        return "date"
    if isinstance(sa_type, LargeBinary):
        return "bytea"
    raise TypeError(f"no PostgreSQL spelling for {sa_type!r}: extend pg_type")


def _catalog_columns(conn: psycopg.Connection, table: Table) -> dict[str, CatalogColumn]:
    rows = conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull"
        " from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'p') and a.attnum > 0"
        " and not a.attisdropped order by a.attnum",
        (table.schema or "public", table.name),
    ).fetchall()
    return {name: CatalogColumn(type=type_, not_null=not_null) for name, type_, not_null in rows}


def _catalog_primary_key(conn: psycopg.Connection, table: Table) -> set[str]:
    rows = conn.execute(
        "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)"
        " where i.indisprimary and i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass",
        (table.schema or "public", table.name),
    ).fetchall()
    return {name for (name,) in rows}


def _column_differences(column: Column[object], found: CatalogColumn) -> list[str]:
    differences = []
    expected = pg_type(column.type)
    if expected != found.type:
        differences.append(f"{column.name}: Python {expected}, SQL {found.type}")
    python_not_null = not column.nullable
    if python_not_null != found.not_null:
        spelled = {True: "not null", False: "nullable"}
        differences.append(f"{column.name}: Python {spelled[python_not_null]}, SQL {spelled[found.not_null]}")
    return differences


def differences(conn: psycopg.Connection, table: Table) -> list[str]:
    catalog = _catalog_columns(conn, table)
    if not catalog:
        return [f"{table.fullname}: no such table in the database"]
    python = {c.name: c for c in table.columns}
    found = [f"{name}: in Python only" for name in python.keys() - catalog.keys()]
    found += [f"{name}: in SQL only ({catalog[name].type})" for name in catalog.keys() - python.keys()]
    for name in sorted(python.keys() & catalog.keys()):
        found += _column_differences(python[name], catalog[name])
    primary_key = {c.name for c in table.primary_key.columns}
    catalog_key = _catalog_primary_key(conn, table)
    if primary_key != catalog_key:
        found.append(f"primary key: Python {sorted(primary_key)}, SQL {sorted(catalog_key)}")
    return sorted(found)


def test_the_table_modules_are_found() -> None:
    """A rename of the modules or the MetaData must not turn this file into a test of nothing."""
    assert "db.tables" in _table_modules()
    names = {t.name for t in _tables()}
    assert {"tenants", "cloud_accounts", "invoices", "staged_imports"} <= names
    assert len(names) > 30


@pytest.mark.parametrize("table", _tables(), ids=lambda t: t.fullname)
def test_the_python_table_matches_the_catalog(owner_conn: psycopg.Connection, table: Table) -> None:
    assert differences(owner_conn, table) == []


def test_a_divergent_description_is_reported(owner_conn: psycopg.Connection) -> None:
    """The comparison itself can fail: a made-up description of `tenants` differs in every way it checks."""
    wrong = Table(
        "tenants",
        MetaData(),
        Column("id", Text, primary_key=True),
        Column("slug", Text),
        Column("invented", Text),
    )
    found = differences(owner_conn, wrong)
    assert "id: Python text, SQL uuid" in found
    assert "slug: Python nullable, SQL not null" in found
    assert "invented: in Python only" in found
    assert any(d.startswith("name: in SQL only") for d in found)
    missing = Table("no_such_table", MetaData(), Column("id", Uuid, primary_key=True))
    assert differences(owner_conn, missing) == ["no_such_table: no such table in the database"]


def test_every_column_type_is_spelled() -> None:
    for table in _tables():
        for column in table.columns:
            pg_type(column.type)  # raises for an unmapped type
