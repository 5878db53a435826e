"""Roles and database, created once by a superuser (the embedded server's, or `roundpool db bootstrap`).

- `roundpool_owner` runs migrations and owns every object. It has BYPASSRLS because the
  security-definer helpers in schema `app` run as the owner and must read memberships and grants
  without recursing into the policies that call them.
- `roundpool_api` is a NOLOGIN group that migrations grant privileges to.
- `roundpool_app` logs in, is a member of `roundpool_api`, and is NOSUPERUSER NOBYPASSRLS, owning nothing.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
OWNER_ROLE = "roundpool_owner"
API_GROUP = "roundpool_api"
APP_ROLE = "roundpool_app"
DATABASE_NAME = "roundpool"


def bootstrap(
    superuser_url: str,
    *,
    database: str = DATABASE_NAME,
    owner_password: str | None = None,
    app_password: str | None = None,
) -> None:
    """Create the roles and the database if absent; idempotent."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        _ensure_role(conn, OWNER_ROLE, "LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE", owner_password)
        _ensure_role(conn, API_GROUP, "NOLOGIN NOSUPERUSER NOBYPASSRLS", None)
        _ensure_role(conn, APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", app_password)
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(API_GROUP), sql.Identifier(APP_ROLE)))
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(OWNER_ROLE))
            )
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
            conn.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    sql.Identifier(database), sql.Identifier(API_GROUP)
                )
            )
    db_url = _with_database(superuser_url, database)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Only the owner creates objects in public; nobody else may shadow names there.
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))


def _ensure_role(conn: psycopg.Connection, name: str, options: str, password: str | None) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    statement = sql.SQL("{} ROLE {} " + options).format(sql.SQL(verb), sql.Identifier(name))
    if password is not None:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    conn.execute(statement)


def _with_database(url: str, database: str) -> str:
    head, _, tail = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{tail}" if tail else "")
