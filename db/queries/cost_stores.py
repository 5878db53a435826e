"""Which operators' cost stores the maintenance visits (migration 0017's id-only view, no context needed)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class StoreToVacuum:
    tenant_id: UUID  # the operator
    user_id: UUID  # one of its billing admins, whose context the vacuum job runs under


async def stores_to_vacuum(conn: AsyncConnection) -> list[StoreToVacuum]:
    rows = (await conn.execute(text("select tenant_id, user_id from app.cost_stores_to_vacuum()"))).all()
    return [StoreToVacuum(r[0], r[1]) for r in rows]
