"""Where the database is: the configured server, or the embedded one, as DSNs for each role."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from db.bootstrap import APP_ROLE, DATABASE_NAME, OWNER_ROLE, SUPERUSER, bootstrap
from db.embedded import start_embedded


@dataclass(frozen=True)
class DatabaseLocation:
    """libpq URLs (usable with psql); `sqlalchemy_url` adds the driver."""

    app_url: str
    owner_url: str
    embedded: bool


class InvalidDatabaseUrl(ValueError):
    """A DSN whose driver options libpq would not understand and the driver cannot use."""


# psycopg's option, carried in the URL because libpq refuses unknown query parameters: a transaction pooler
# (PgBouncer before 1.21, or without max_prepared_statements) hands each transaction to any server connection, where
# a statement psycopg prepared on another one does not exist. `none` never prepares.
PREPARE_THRESHOLD = "prepare_threshold"


@dataclass(frozen=True)
class DriverDsn:
    """A DSN split into what libpq reads (`conninfo`) and psycopg's connection options (`connect_args`)."""

    conninfo: str
    connect_args: dict[str, Any] = field(default_factory=dict)


def driver_dsn(url: str) -> DriverDsn:
    """`url` without `?prepare_threshold=` (`none` or a count), which becomes psycopg's `prepare_threshold`."""
    base, sep, query = url.partition("?")
    if not sep or "://" not in base:
        return DriverDsn(url)
    kept: list[str] = []
    values: list[str] = []
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if unquote(key) == PREPARE_THRESHOLD:
            values.append(unquote(value))
        else:
            kept.append(item)
    if not values:
        return DriverDsn(url)
    if len(values) > 1:
        raise InvalidDatabaseUrl(f"the DSN gives {PREPARE_THRESHOLD} more than once")
    value = values[0].strip().lower()
    if value != "none" and not (value.isdigit() and len(value) <= 6):
        raise InvalidDatabaseUrl(f"the DSN's {PREPARE_THRESHOLD} must be none or a whole number of executions")
    threshold = None if value == "none" else int(value)
    conninfo = base + ("?" + "&".join(kept) if kept else "")
    return DriverDsn(conninfo, {PREPARE_THRESHOLD: threshold})


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
