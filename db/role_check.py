"""Refuse to serve through a database role that RLS does not bind.

Superusers and BYPASSRLS roles skip every policy; owners can switch a table's RLS off, and a role that may
`SET ROLE` to an owner or a superuser is as good as one. The server asks, on its own connection, what the role
it connects as can do, and stops at start-up with one line naming each reason.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import text

from db.errors import DatabaseError
from db.location import driver_dsn
from db.session import Database

# Each row: (what, name). `pg_has_role(…, 'MEMBER')` covers direct and inherited membership, with or
# without INHERIT: SET ROLE reaches the same roles.
_FINDINGS = """
with me as (select oid, rolname, rolsuper, rolbypassrls from pg_roles where rolname = current_user),
     system as (select oid from pg_namespace where nspname like 'pg\\_%' or nspname = 'information_schema')
select 'is superuser', me.rolname from me where me.rolsuper
union all
select 'has BYPASSRLS', me.rolname from me where me.rolbypassrls
union all
select case when r.rolsuper then 'is a member of superuser' else 'is a member of BYPASSRLS role' end, r.rolname
from pg_roles r, me where r.oid <> me.oid and pg_has_role(me.oid, r.oid, 'MEMBER') and (r.rolsuper or r.rolbypassrls)
union all
select 'owns database', d.datname from pg_database d, me
where d.datname = current_database() and pg_has_role(me.oid, d.datdba, 'MEMBER')
union all
select 'owns schema', n.nspname from pg_namespace n, me
where pg_has_role(me.oid, n.nspowner, 'MEMBER') and n.oid not in (select oid from system)
union all
select 'owns relation', cast(cast(c.oid as regclass) as text) from pg_class c, me
where pg_has_role(me.oid, c.relowner, 'MEMBER') and c.relnamespace not in (select oid from system)
union all
select 'owns function', cast(cast(p.oid as regprocedure) as text) from pg_proc p, me
where pg_has_role(me.oid, p.proowner, 'MEMBER') and p.pronamespace not in (select oid from system)
"""
_SHOWN = 3


class UnsafeAppRole(DatabaseError):
    """The role the server connects as is not bound by row-level security."""


def unsafe_reasons(role: str, findings: list[tuple[str, str]]) -> str | None:
    """One line naming why `role` is unsafe, or None."""
    if not findings:
        return None
    grouped: dict[str, list[str]] = {}
    for what, name in findings:
        grouped.setdefault(what, []).append(name)
    reasons = []
    for what, names in grouped.items():
        shown = ", ".join(names[:_SHOWN]) + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
        reasons.append(what if names == [role] else f"{what} {shown}")
    return (
        f"the database role {role!r} the server connects as {'; '.join(reasons)}: row-level security would not"
        " bind it; connect as the app role (NOSUPERUSER NOBYPASSRLS, owning nothing, as `roundpool db bootstrap`"
        " creates it)"
    )


def check_app_role(url: str) -> None:
    """Raise UnsafeAppRole unless the role of `url` is bound by RLS (for commands, before they start)."""
    dsn = driver_dsn(url)
    with psycopg.connect(dsn.conninfo, **dsn.connect_args) as conn:
        role = conn.execute("select current_user").fetchone()
        findings = conn.execute(_FINDINGS).fetchall()
    problem = unsafe_reasons(str(role[0]) if role else "?", [(str(w), str(n)) for w, n in findings])
    if problem:
        raise UnsafeAppRole(problem)


async def check_database_role(database: Database) -> None:
    """The same check on the engine's own connection (the ASGI lifespan)."""
    async with database.engine.connect() as conn:
        role = (await conn.execute(text("select current_user"))).scalar_one()
        findings = (await conn.execute(text(_FINDINGS))).all()
    problem = unsafe_reasons(str(role), [(str(w), str(n)) for w, n in findings])
    if problem:
        raise UnsafeAppRole(problem)
