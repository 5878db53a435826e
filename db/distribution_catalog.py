"""What Citus cares about in a database's catalog: its tables, their columns, unique keys and foreign keys."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

# The schemas the application creates tables in: every non-system schema of the database.
_USER_SCHEMAS = "n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool


@dataclass(frozen=True)
class UniqueKey:
    """A primary key, unique constraint, unique index or exclusion constraint; None for an expression."""

    table: str
    name: str
    columns: tuple[str | None, ...]


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    columns: tuple[str, ...]
    referenced: str
    referenced_columns: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    tables: dict[str, dict[str, Column]]  # schema-qualified name → its columns by name
    unique_keys: tuple[UniqueKey, ...]
    foreign_keys: tuple[ForeignKey, ...]


def read_catalog(conn: psycopg.Connection) -> Catalog:
    """The facts of every ordinary or partitioned table (not partitions) in the database's own schemas."""
    tables: dict[str, dict[str, Column]] = {}
    for table, column, type_name, not_null in conn.execute(
        f"""
        select n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where c.relkind in ('r', 'p') and not c.relispartition and {_USER_SCHEMAS}
        order by 1, a.attnum
        """
    ).fetchall():
        columns = tables.setdefault(table, {})
        if column is not None:
            columns[column] = Column(column, type_name, not_null)
    unique_keys = tuple(
        UniqueKey(table, name, tuple(columns))
        for table, name, columns in conn.execute(
            f"""
            select n.nspname || '.' || c.relname, i.relname,
                   array(select a.attname from unnest(x.indkey::int2[]) with ordinality k(attnum, position)
                         left join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                         where k.position <= x.indnkeyatts order by k.position)
            from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
            join pg_namespace n on n.oid = c.relnamespace
            where (x.indisunique or x.indisexclusion) and c.relkind in ('r', 'p') and not c.relispartition
              and {_USER_SCHEMAS}
            order by 1, 2
            """
        ).fetchall()
    )
    foreign_keys = tuple(
        ForeignKey(table, name, tuple(columns), referenced, tuple(referenced_columns))
        for table, name, columns, referenced, referenced_columns in conn.execute(
            f"""
            select n.nspname || '.' || c.relname, k.conname,
                   array(select a.attname from unnest(k.conkey) with ordinality u(attnum, position)
                         join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum order by position),
                   rn.nspname || '.' || r.relname,
                   array(select a.attname from unnest(k.confkey) with ordinality u(attnum, position)
                         join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum order by position)
            from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
            join pg_class r on r.oid = k.confrelid join pg_namespace rn on rn.oid = r.relnamespace
            where k.contype = 'f' and not c.relispartition and {_USER_SCHEMAS}
            order by 1, 2
            """
        ).fetchall()
    )
    return Catalog(tables=tables, unique_keys=unique_keys, foreign_keys=foreign_keys)
