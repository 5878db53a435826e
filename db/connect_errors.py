"""A connection that failed, told in one line that names the setting and quotes neither the DSN nor its
password (a parse error would otherwise echo the string it could not parse)."""

from __future__ import annotations

import psycopg
from psycopg.abc import ConnParam
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from db.location import InvalidDatabaseUrl, driver_dsn

# Failing to reach or to log in (psycopg raises OperationalError for both; SQLAlchemy wraps it for Alembic),
# or a DSN SQLAlchemy cannot parse. A statement that fails once connected is none of these.
CONNECT_ERRORS: tuple[type[Exception], ...] = (psycopg.OperationalError, OperationalError, ArgumentError)


def invalid_dsn(variable: str, url: str) -> str | None:
    """Why `url` is not a libpq DSN, checked before connecting; None when it is one."""
    return None if _parses(url) else f"{variable} is not a valid PostgreSQL URL"


def cannot_connect(variable: str, url: str, error: Exception) -> str:
    original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    if isinstance(original, ArgumentError) or not _parses(url):
        return f"{variable} is not a valid PostgreSQL URL"
    reason = " ".join(line.strip() for line in str(original).splitlines() if line.strip())
    password = _password(url)
    if password:
        reason = reason.replace(password, "***")
    return f"{variable}: cannot connect to {_where(url)}: {reason or type(original).__name__}"


def _parses(url: str) -> bool:
    """A postgresql:// URL libpq accepts (the engine needs the URL form, not `key=value` pairs)."""
    if not url.startswith(("postgresql://", "postgres://")):
        return False
    try:
        _libpq(url)
    except (psycopg.ProgrammingError, InvalidDatabaseUrl):
        return False
    return True


def _libpq(url: str) -> dict[str, ConnParam]:
    """libpq's reading of `url`, without the driver's options (`?prepare_threshold=`, db/location.py)."""
    return conninfo_to_dict(driver_dsn(url).conninfo)


def _password(url: str) -> str | None:
    password = _libpq(url).get("password")
    return password if isinstance(password, str) else None


def _where(url: str) -> str:
    parts = _libpq(url)
    user, host, port, dbname = (parts.get(k) for k in ("user", "host", "port", "dbname"))
    return f"database {dbname or '?'} on {host or 'the local socket'}{':' + str(port) if port else ''} as {user or '?'}"
