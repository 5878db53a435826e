"""Platform operators: created only by the owner role (`roundpool tenants create-operator`); the API has no
path to make one. The owner joins at once when the address has a user, else gets an owner invitation."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg
import psycopg.errors


class OperatorRefused(Exception):
    """The slug is taken or malformed, or the name or address is refused; the message says which."""


@dataclass(frozen=True)
class CreatedOperator:
    tenant_id: UUID
    owner_is_member: bool


def create_operator(owner_url: str, slug: str, name: str, owner_email: str) -> CreatedOperator:
    try:
        with psycopg.connect(owner_url) as conn, conn.transaction():
            row = conn.execute(
                "select tenant_id, owner_is_member from app.create_operator(%s, %s, %s)", (slug, name, owner_email)
            ).fetchone()
    except psycopg.errors.UniqueViolation as error:
        raise OperatorRefused(f"the slug {slug!r} is taken") from error
    except (psycopg.errors.IntegrityError, psycopg.errors.DataException) as error:
        raise OperatorRefused(error.diag.message_primary or str(error)) from error
    assert row is not None
    return CreatedOperator(tenant_id=row[0], owner_is_member=row[1])
