"""`roundpool db citus-plan`: the distribution calls for the database the settings point at."""

from __future__ import annotations

import psycopg

from cli.runtime import CliError, connecting
from db.distribution import citus_plan
from db.distribution_catalog import read_catalog
from db.distribution_rules import violations
from db.location import DatabaseLocation


def citus_statements(location: DatabaseLocation) -> list[str]:
    """The plan for the catalog as migrated (any role reads the catalog; the app role's DSN is enough)."""
    with connecting("DATABASE_URL", location.app_url), psycopg.connect(location.app_url) as conn:
        catalog = read_catalog(conn)
    broken = violations(catalog)
    if broken:
        raise CliError("cannot be distributed by tenant_id:\n" + "\n".join(f"  {v}" for v in broken))
    return citus_plan(catalog)
