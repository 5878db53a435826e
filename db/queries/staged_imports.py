"""Staged-import drafts and their items, under the request's RLS context (the acting startup's writers only).

Expiry and the open → committed transition are the database's (trigger and policies of 0013): an update of an
expired or committed draft, or of its items, matches no row or is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update

from db.session import RequestTransaction
from db.staged_import_tables import staged_import_items, staged_imports


@dataclass(frozen=True)
class DraftRecord:
    tenant_id: UUID
    id: UUID
    format: str
    source_version: str | None
    manifest: dict[str, Any]
    changes: list[dict[str, Any]]
    status: str
    created_at: datetime
    expires_at: datetime
    committed_at: datetime | None
    expired: bool


@dataclass(frozen=True)
class DraftItem:
    position: int
    file_type: str
    filepath: str
    item: dict[str, Any]
    dropped: bool
    edited: bool


@dataclass(frozen=True)
class NewDraftItem:
    file_type: str
    filepath: str
    item: Mapping[str, Any]


_DRAFT = (
    staged_imports.c.tenant_id,
    staged_imports.c.id,
    staged_imports.c.format,
    staged_imports.c.source_version,
    staged_imports.c.manifest,
    staged_imports.c.changes,
    staged_imports.c.status,
    staged_imports.c.created_at,
    staged_imports.c.expires_at,
    staged_imports.c.committed_at,
    (staged_imports.c.expires_at <= func.statement_timestamp()).label("expired"),
)
_ITEM = (
    staged_import_items.c.position,
    staged_import_items.c.file_type,
    staged_import_items.c.filepath,
    staged_import_items.c.item,
    staged_import_items.c.dropped,
    staged_import_items.c.edited,
)
_BATCH = 500  # items per INSERT statement


async def create(
    tx: RequestTransaction,
    tenant_id: UUID,
    format: str,
    source_version: str | None,
    manifest: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    items: Sequence[NewDraftItem],
) -> UUID:
    draft_id: UUID = (
        await tx.execute(
            insert(staged_imports)
            .values(
                tenant_id=tenant_id,
                format=format,
                source_version=source_version,
                manifest=dict(manifest),
                changes=list(changes),
            )
            .returning(staged_imports.c.id)
        )
    ).scalar_one()
    rows = [
        {
            "tenant_id": tenant_id,
            "import_id": draft_id,
            "position": n,
            "file_type": i.file_type,
            "filepath": i.filepath,
            "item": dict(i.item),
        }
        for n, i in enumerate(items)
    ]
    for start in range(0, len(rows), _BATCH):
        await tx.execute(insert(staged_import_items).values(rows[start : start + _BATCH]))
    return draft_id


async def draft(tx: RequestTransaction, draft_id: UUID, *, lock: bool = False) -> DraftRecord | None:
    statement = select(*_DRAFT).where(staged_imports.c.id == draft_id)
    if lock:
        statement = statement.with_for_update()
    row = (await tx.execute(statement)).first()
    return None if row is None else DraftRecord(**row._mapping)


async def items(tx: RequestTransaction, tenant_id: UUID, draft_id: UUID) -> list[DraftItem]:
    statement = (
        select(*_ITEM)
        .where(staged_import_items.c.tenant_id == tenant_id, staged_import_items.c.import_id == draft_id)
        .order_by(staged_import_items.c.position)
    )
    return [DraftItem(**r._mapping) for r in (await tx.execute(statement)).all()]


async def change_item(
    tx: RequestTransaction, tenant_id: UUID, draft_id: UUID, position: int, values: Mapping[str, Any]
) -> bool:
    """Replace or drop one item; False when no such item is open to change (absent, expired or committed)."""
    statement = (
        update(staged_import_items)
        .where(
            staged_import_items.c.tenant_id == tenant_id,
            staged_import_items.c.import_id == draft_id,
            staged_import_items.c.position == position,
        )
        .values(**values)
        .returning(staged_import_items.c.position)
    )
    return (await tx.execute(statement)).first() is not None


async def mark_committed(tx: RequestTransaction, tenant_id: UUID, draft_id: UUID) -> bool:
    statement = (
        update(staged_imports)
        .where(staged_imports.c.tenant_id == tenant_id, staged_imports.c.id == draft_id)
        .values(status="committed")
        .returning(staged_imports.c.id)
    )
    return (await tx.execute(statement)).first() is not None
