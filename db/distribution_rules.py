"""The rules a catalog must keep for Citus to distribute it as :mod:`db.distribution` says.

- Every table named reference or local exists, and no table is named twice.
- A distributed table has ``tenant_id uuid not null`` (one type, so all of them co-locate).
- Every primary key, unique constraint, unique index and exclusion constraint of a distributed table includes
  ``tenant_id`` as a column: Citus can only enforce uniqueness within one shard.
- A foreign key between two distributed tables maps ``tenant_id`` to ``tenant_id`` (the rows are co-located);
  a distributed table may reference a reference table on any columns; a reference table references only
  reference tables; a local table has no foreign key to or from the other classes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from db.distribution import DISTRIBUTION_COLUMN, LOCAL_TABLES, REFERENCE_TABLES, Placement, placement_of
from db.distribution_catalog import Catalog


@dataclass(frozen=True)
class Violation:
    table: str
    constraint: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.constraint}" if self.constraint else self.table
        return f"{where}: {self.reason}"


def violations(
    catalog: Catalog, reference: tuple[str, ...] = REFERENCE_TABLES, local: tuple[str, ...] = LOCAL_TABLES
) -> list[Violation]:
    """Every way `catalog` breaks the rules of the module docstring; empty when it can be distributed."""

    def place(table: str) -> Placement:
        return placement_of(table, reference, local)

    found = [
        Violation(name, None, f"named {count} times among the reference and local tables")
        for name, count in Counter((*reference, *local)).items()
        if count > 1
    ]
    found += [
        Violation(name, None, "named as a reference or local table but no such table exists")
        for name in (*reference, *local)
        if name not in catalog.tables
    ]
    for table, columns in catalog.tables.items():
        if place(table) is not Placement.DISTRIBUTED:
            continue
        column = columns.get(DISTRIBUTION_COLUMN)
        if column is None or column.type != "uuid" or not column.not_null:
            found.append(Violation(table, None, f"a distributed table needs {DISTRIBUTION_COLUMN} uuid not null"))
    found += [
        Violation(key.table, key.name, f"a unique key of a distributed table must include {DISTRIBUTION_COLUMN}")
        for key in catalog.unique_keys
        if place(key.table) is Placement.DISTRIBUTED and DISTRIBUTION_COLUMN not in key.columns
    ]
    for fk in catalog.foreign_keys:
        source, target = place(fk.table), place(fk.referenced)
        if source is Placement.DISTRIBUTED and target is Placement.DISTRIBUTED:
            pairs = set(zip(fk.columns, fk.referenced_columns, strict=True))
            if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
                found.append(
                    Violation(
                        fk.table,
                        fk.name,
                        f"a foreign key between distributed tables must map "
                        f"{DISTRIBUTION_COLUMN} to {DISTRIBUTION_COLUMN} ({fk.referenced})",
                    )
                )
        elif source is Placement.REFERENCE and target is not Placement.REFERENCE:
            found.append(Violation(fk.table, fk.name, f"a reference table references {target} {fk.referenced}"))
        elif (source is Placement.LOCAL) != (target is Placement.LOCAL):
            found.append(Violation(fk.table, fk.name, f"a foreign key between {source} and {target} tables"))
    return found
