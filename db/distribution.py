"""Where every table goes on Citus: the one place that names the reference and the local tables.

Every other table of the application's schemas is distributed by :data:`DISTRIBUTION_COLUMN`, all in one
co-location group, so the rows of one tenant (its invoices, their lines, its accounts) are on one node and join
there. Reference tables are replicated to every node: the tenancy core the policy helpers read on every
statement (tenants, users, memberships, portfolio grants) and an operator's plans, which its customers' billing
rows reference. Local tables stay on the coordinator only: the job queue (no tenant data, only ids) and
Alembic's revision. :mod:`db.distribution_rules` checks the catalog against this; :func:`citus_plan` turns it
into the calls that distribute a database.
"""

from __future__ import annotations

from enum import StrEnum

from db.distribution_catalog import Catalog

DISTRIBUTION_COLUMN = "tenant_id"

REFERENCE_TABLES: tuple[str, ...] = (
    "public.tenants",
    "public.users",
    "public.memberships",
    "public.portfolio_grants",
    "public.pricing_plans",
)

LOCAL_TABLES: tuple[str, ...] = (
    "public.alembic_version",
    "public.procrastinate_jobs",
    "public.procrastinate_events",
    "public.procrastinate_periodic_defers",
    "public.procrastinate_workers",
    "app.rate_limit_buckets",  # unlogged token buckets, taken by a function that runs where it is called
)


class Placement(StrEnum):
    REFERENCE = "reference"
    LOCAL = "local"
    DISTRIBUTED = "distributed"


def placement_of(
    table: str, reference: tuple[str, ...] = REFERENCE_TABLES, local: tuple[str, ...] = LOCAL_TABLES
) -> Placement:
    """The class of a schema-qualified table; whatever is neither reference nor local is distributed."""
    if table in reference:
        return Placement.REFERENCE
    if table in local:
        return Placement.LOCAL
    return Placement.DISTRIBUTED


def _dependency_order(tables: list[str], catalog: Catalog) -> list[str]:
    """`tables` with every table after the tables of the same list it references (Citus distributes a table
    only once what its foreign keys point to is distributed); otherwise alphabetical."""
    wanted = set(tables)
    needs = {
        t: {fk.referenced for fk in catalog.foreign_keys if fk.table == t and fk.referenced in wanted} - {t}
        for t in tables
    }
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, deps in needs.items() if deps <= set(ordered))
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {sorted(needs)}")
        ordered.extend(ready)
        for t in ready:
            del needs[t]
    return ordered


def citus_plan(catalog: Catalog) -> list[str]:
    """The statements that distribute a migrated database on a Citus coordinator, in the order they must run:
    reference tables, then distributed tables co-located with the first one. Local tables are left alone."""
    reference = _dependency_order([t for t in catalog.tables if placement_of(t) is Placement.REFERENCE], catalog)
    distributed = _dependency_order([t for t in catalog.tables if placement_of(t) is Placement.DISTRIBUTED], catalog)
    statements = [f"select create_reference_table('{t}');" for t in reference]
    for position, table in enumerate(distributed):
        colocation = "'none'" if position == 0 else f"'{distributed[0]}'"
        statements.append(
            f"select create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}', colocate_with => {colocation});"
        )
    return statements
