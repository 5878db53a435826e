"""Where the database is: the configured server, or the embedded one, as DSNs for each role."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

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


# Options for the driver and the engine, carried in the URL because libpq refuses unknown query parameters.
# prepare_threshold (psycopg's): a transaction pooler (PgBouncer before 1.21, or without max_prepared_statements)
# hands each transaction to any server connection, where a statement psycopg prepared on another one does not
# exist; `none` never prepares.
PREPARE_THRESHOLD = "prepare_threshold"
# side_database: the database name side transactions connect to (db/session.py). Behind PgBouncer, a second
# alias of the same database with a server pool of its own: a request holding one of the main pool's server
# connections must never wait for a side transaction behind others doing the same, which could deadlock them all.
SIDE_DATABASE = "side_database"
_OPTIONS = (PREPARE_THRESHOLD, SIDE_DATABASE)
_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}")


@dataclass(frozen=True)
class DriverDsn:
    """A DSN split into what libpq reads (`conninfo`), psycopg's connection options (`connect_args`) and
    the DSN of side transactions (`side_conninfo`, the same unless the URL names a side database)."""

    conninfo: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    side_conninfo: str = ""

    def __post_init__(self) -> None:
        if not self.side_conninfo:
            object.__setattr__(self, "side_conninfo", self.conninfo)


def driver_dsn(url: str) -> DriverDsn:
    """`url` without `?prepare_threshold=` (`none` or a count) and `?side_database=` (a database name)."""
    base, sep, query = url.partition("?")
    if not sep or "://" not in base:
        return DriverDsn(url)
    kept: list[str] = []
    found: dict[str, list[str]] = {}
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if unquote(key) in _OPTIONS:
            found.setdefault(unquote(key), []).append(unquote(value))
        else:
            kept.append(item)
    if not found:
        return DriverDsn(url)
    for key, values in found.items():
        if len(values) > 1:
            raise InvalidDatabaseUrl(f"the DSN gives {key} more than once")
    rest = "?" + "&".join(kept) if kept else ""
    connect_args: dict[str, Any] = {}
    if PREPARE_THRESHOLD in found:
        value = found[PREPARE_THRESHOLD][0].strip().lower()
        if value != "none" and not (value.isdigit() and len(value) <= 6):
            raise InvalidDatabaseUrl(f"the DSN's {PREPARE_THRESHOLD} must be none or a whole number of executions")
        connect_args[PREPARE_THRESHOLD] = None if value == "none" else int(value)
    side = ""
    if SIDE_DATABASE in found:
        name = found[SIDE_DATABASE][0]
        if not _NAME.fullmatch(name):
            raise InvalidDatabaseUrl(f"the DSN's {SIDE_DATABASE} must be a database name (letters, digits, _ and -)")
        side = urlunsplit(urlsplit(base)._replace(path=f"/{name}")) + rest
    return DriverDsn(base + rest, connect_args, side)


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
