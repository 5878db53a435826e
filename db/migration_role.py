"""Refuse to migrate as a role that would not own what the migrations create.

The owner role (`roundpool db bootstrap`) owns the database and every object in it; migrating as the app role
fails half-way on the first CREATE, and migrating as a superuser would leave objects owned by someone else.
"""

from __future__ import annotations

import psycopg

from db.errors import DatabaseError

_WHO = """
select current_user, r.rolsuper, pg_get_userbyid(d.datdba), pg_has_role(current_user, d.datdba, 'USAGE')
from pg_database d, pg_roles r
where d.datname = current_database() and r.rolname = current_user
"""


class NotTheOwner(DatabaseError):
    """The migration DSN connects as a role that does not own the database."""


def check_migration_role(owner_url: str, *, variable: str = "MIGRATION_DATABASE_URL") -> None:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(_WHO).fetchone()
        database = conn.info.dbname
    if row is None:
        raise NotTheOwner(f"{variable}: cannot tell which role it connects as")
    role, superuser, owner, owns = str(row[0]), bool(row[1]), str(row[2]), bool(row[3])
    if superuser:
        raise NotTheOwner(
            f"{variable} connects as superuser {role!r}: migrations run as the owner role ({owner!r}, created by"
            " `roundpool db bootstrap`), so that it owns what they create"
        )
    if not owns:
        raise NotTheOwner(
            f"{variable} connects as {role!r}, which does not own database {database!r} (its owner is {owner!r}):"
            " migrations run as the owner role; set it to the owner's DSN"
        )
