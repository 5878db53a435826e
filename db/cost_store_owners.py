"""Which operator published each import of the old single-catalog store (for :mod:`cost.migration`).

Runs as the owner role: the migration step reads every operator's manifests, which no app-role context sees.
"""

from __future__ import annotations

from uuid import UUID

import psycopg


def import_owners(conn: psycopg.Connection) -> dict[str, UUID]:
    """digest → the operator whose succeeded import published that content (one per content in the old
    store, where a second import of it was a duplicate); content claimed by two operators is left out."""
    rows = conn.execute(
        "select digest, array_agg(distinct tenant_id) from cost_imports"
        " where status = 'succeeded' and digest is not null group by digest"
    ).fetchall()
    return {digest: operators[0] for digest, operators in rows if len(operators) == 1}
