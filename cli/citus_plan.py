"""`roundpool db citus-plan`: the distribution calls for the database the settings point at."""

from __future__ import annotations

import psycopg

from cli.runtime import CliError, connecting
from db.distribution import citus_plan
from db.distribution_catalog import read_catalog
from db.distribution_rules import violations
from db.location import DatabaseLocation, driver_dsn


def citus_statements(location: DatabaseLocation) -> list[str]:
    """The plan for the catalog as migrated (any role reads the catalog; the app role's DSN is enough)."""
    dsn = driver_dsn(location.app_url)  # a DSN pointing at PgBouncer carries options libpq refuses
    with connecting("DATABASE_URL", location.app_url), psycopg.connect(dsn.conninfo, **dsn.connect_args) as conn:
        catalog = read_catalog(conn)
    broken = violations(catalog)
    if broken:
        raise CliError("cannot be distributed by tenant_id:\n" + "\n".join(f"  {v}" for v in broken))
    return citus_plan(catalog)
