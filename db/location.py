"""Where the database is: the configured server, or the embedded one, as DSNs for each role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from db.bootstrap import APP_ROLE, DATABASE_NAME, OWNER_ROLE, SUPERUSER, bootstrap
from db.embedded import start_embedded


@dataclass(frozen=True)
class DatabaseLocation:
    """libpq URLs (usable with psql); `sqlalchemy_url` adds the driver."""

    app_url: str
    owner_url: str
    embedded: bool


def sqlalchemy_url(libpq_url: str) -> str:
    scheme, rest = libpq_url.split("://", 1)
    if "+" in scheme:
        return libpq_url
    return f"postgresql+psycopg://{rest}"


class IncompleteLocation(Exception):
    """The settings do not say where the database is, and no embedded server may stand in for it."""


def locate_database(
    database_url: str | None,
    migration_database_url: str | None,
    home: Path,
    *,
    keep_running: bool = False,
    embedded_allowed: bool = True,
) -> DatabaseLocation:
    """The configured server when `database_url` is set, else the embedded server in `home` (bootstrapped).

    The embedded server starts only when neither DSN is set and `embedded_allowed` (development): a server
    configured by halves, or a production one without its DSN, must not quietly run on a private database.
    It stops when the last process using it exits, unless `keep_running` (for `db url`, whose DSN must
    outlive the command).
    """
    if database_url:
        return DatabaseLocation(app_url=database_url, owner_url=migration_database_url or database_url, embedded=False)
    if migration_database_url:
        raise IncompleteLocation(
            "MIGRATION_DATABASE_URL is set but DATABASE_URL is not: set DATABASE_URL to the app role's DSN"
            " (the embedded database starts only when neither is set)"
        )
    if not embedded_allowed:
        raise IncompleteLocation(
            "production needs DATABASE_URL (the app role's DSN); it never starts an embedded database"
        )
    server = start_embedded(home, cleanup=None if keep_running else "stop")
    bootstrap(server.url(SUPERUSER, "postgres"))
    return DatabaseLocation(
        app_url=server.url(APP_ROLE, DATABASE_NAME),
        owner_url=server.url(OWNER_ROLE, DATABASE_NAME),
        embedded=True,
    )
