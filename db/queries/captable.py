"""The cap-table ledger, stakeholder links and derived snapshots. Every statement runs under the request's RLS
context: a startup reads and appends its own rows, a granted VC reads (never writes) the granting startups'."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Uuid, any_, bindparam, column, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.captable_records import (
    HoldingRecord,
    LedgerRow,
    LinkRecord,
    NewLedgerRow,
    PortfolioRow,
    SnapshotRecord,
)
from db.captable_tables import captable_holdings, captable_objects, captable_snapshots, stakeholder_links
from db.compiled import compiled, records_of
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

_LEDGER_COLUMNS = (
    captable_objects.c.tenant_id,
    captable_objects.c.id,
    captable_objects.c.object_type,
    captable_objects.c.seq,
    captable_objects.c.payload,
)


def any_ids(ids: Sequence[UUID]) -> ColumnElement[Any]:
    """`= any(:ids)`: one bound array, so the statement text is the same for 2 or 200 companies."""
    return any_(bindparam("ids", list(ids), type_=ARRAY(Uuid)))


async def lock_ledger(tx: RequestTransaction, tenant_id: UUID) -> None:
    """Serialise writers of one ledger until the transaction ends: validation sees every committed event."""
    await tx.execute(text("select pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"captable:{tenant_id}"})


async def ledger_rows(tx: RequestTransaction, tenant_id: UUID) -> list[LedgerRow]:
    statement = (
        select(*_LEDGER_COLUMNS).where(captable_objects.c.tenant_id == tenant_id).order_by(captable_objects.c.seq)
    )
    return [LedgerRow(**r._mapping) for r in (await tx.execute(statement)).all()]


async def ledger_rows_of(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> dict[UUID, list[LedgerRow]]:
    """The ledgers of several companies in one statement (those the policies show), by company."""
    statement = (
        select(*_LEDGER_COLUMNS)
        .where(captable_objects.c.tenant_id == any_ids(tenant_ids))
        .order_by(captable_objects.c.tenant_id, captable_objects.c.seq)
    )
    found: dict[UUID, list[LedgerRow]] = {t: [] for t in tenant_ids}
    for r in (await tx.execute(statement)).all():
        found.setdefault(r.tenant_id, []).append(LedgerRow(**r._mapping))
    return found


async def ledger_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[LedgerRow]:
    statement = select(*_LEDGER_COLUMNS).where(captable_objects.c.tenant_id == tenant_id)
    rows = (await tx.execute(keyset(statement, [captable_objects.c.seq], window))).all()
    return page_of([LedgerRow(**r._mapping) for r in rows], window, count=counter(tx, statement))


async def append(tx: RequestTransaction, tenant_id: UUID, rows: Sequence[NewLedgerRow]) -> int:
    """Append in order (one statement); returns the highest `seq` written."""
    if not rows:
        return 0
    values = [
        {
            "tenant_id": tenant_id,
            "id": r.id,
            "object_type": r.object_type,
            "effective_date": r.effective_date,
            "payload": r.payload,
        }
        for r in rows
    ]
    result = await tx.execute(insert(captable_objects).values(values).returning(captable_objects.c.seq))
    seqs: Sequence[int] = result.scalars().all()  # captable_objects.seq is a bigint identity
    return max(seqs)


async def links_of(tx: RequestTransaction, tenant_ids: Sequence[UUID]) -> list[LinkRecord]:
    statement = select(
        stakeholder_links.c.tenant_id, stakeholder_links.c.stakeholder_id, stakeholder_links.c.vc_tenant_id
    ).where(stakeholder_links.c.tenant_id == any_ids(tenant_ids))
    return [LinkRecord(**r._mapping) for r in (await tx.execute(statement)).all()]


async def link(tx: RequestTransaction, tenant_id: UUID, stakeholder_id: str, vc_tenant_id: UUID) -> LinkRecord:
    statement = (
        pg_insert(stakeholder_links)
        .values(tenant_id=tenant_id, stakeholder_id=stakeholder_id, vc_tenant_id=vc_tenant_id)
        .on_conflict_do_update(
            index_elements=[stakeholder_links.c.tenant_id, stakeholder_links.c.stakeholder_id],
            set_={"vc_tenant_id": vc_tenant_id},
        )
        .returning(stakeholder_links.c.tenant_id, stakeholder_links.c.stakeholder_id, stakeholder_links.c.vc_tenant_id)
    )
    row = (await tx.execute(statement)).one()
    return LinkRecord(**row._mapping)


async def unlink(tx: RequestTransaction, tenant_id: UUID, stakeholder_id: str) -> bool:
    statement = (
        delete(stakeholder_links)
        .where(stakeholder_links.c.tenant_id == tenant_id, stakeholder_links.c.stakeholder_id == stakeholder_id)
        .returning(stakeholder_links.c.stakeholder_id)
    )
    return (await tx.execute(statement)).first() is not None


def _snapshot_values(snapshot: SnapshotRecord) -> dict[str, Any]:
    return {
        "tenant_id": snapshot.tenant_id,
        "as_of": snapshot.as_of,
        "ledger_seq": snapshot.ledger_seq,
        "outstanding": snapshot.outstanding,
        "fully_diluted": snapshot.fully_diluted,
        "price_per_share": snapshot.price_per_share,
        "price_date": snapshot.price_date,
        "currency": snapshot.currency,
        "positions": snapshot.positions,
        "ownership_by_class": snapshot.ownership_by_class,
        "pools": snapshot.pools,
    }


def _holding_values(tenant_id: UUID, holding: HoldingRecord) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "vc_tenant_id": holding.vc_tenant_id,
        "stakeholder_ids": holding.stakeholder_ids,
        "ownership": holding.ownership,
        "fully_diluted_ownership": holding.fully_diluted_ownership,
        "invested": holding.invested,
        "holding_value": holding.holding_value,
        "value_by_stakeholder": holding.value_by_stakeholder,
    }


async def save_snapshot(tx: RequestTransaction, snapshot: SnapshotRecord) -> None:
    """Replace the company's snapshot and its holdings (three statements, whatever the number of VCs)."""
    values = _snapshot_values(snapshot)
    upsert = pg_insert(captable_snapshots).values(values)
    upsert = upsert.on_conflict_do_update(
        index_elements=[captable_snapshots.c.tenant_id],
        set_={**{k: upsert.excluded[k] for k in values if k != "tenant_id"}, "computed_at": func.now()},
    )
    await tx.execute(upsert)
    await tx.execute(delete(captable_holdings).where(captable_holdings.c.tenant_id == snapshot.tenant_id))
    if snapshot.holdings:
        await tx.execute(
            insert(captable_holdings).values([_holding_values(snapshot.tenant_id, h) for h in snapshot.holdings])
        )


async def snapshot_seq(tx: RequestTransaction, tenant_id: UUID) -> int | None:
    statement = select(captable_snapshots.c.ledger_seq).where(captable_snapshots.c.tenant_id == tenant_id)
    return (await tx.execute(statement)).scalar_one_or_none()


_PORTFOLIO = text(  # also bench/serve.py's ceiling, as text
    """
    select g.id as company_id, s.as_of, s.currency, s.price_per_share, s.price_date,
           h.stakeholder_ids, h.ownership, h.fully_diluted_ownership, h.invested, h.holding_value
    from unnest(app.granted_tenants('captable')) as g(id)
    left join captable_snapshots s on s.tenant_id = g.id
    left join captable_holdings h on h.tenant_id = g.id and h.vc_tenant_id = :vc
    order by g.id
    """
)
_PORTFOLIO_ROWS = compiled(_PORTFOLIO.columns(*(column(f.name) for f in fields(PortfolioRow))), PortfolioRow)


async def portfolio_rows(tx: RequestTransaction, vc_tenant_id: UUID) -> list[PortfolioRow]:
    """Every startup that granted the acting VC `captable`, with its snapshot and the VC's holding: one
    statement, however many companies."""
    return records_of(PortfolioRow, await tx.fetch(_PORTFOLIO_ROWS, {"vc": vc_tenant_id}))


async def granted_companies(tx: RequestTransaction) -> list[UUID]:
    rows = (await tx.execute(text("select unnest(app.granted_tenants('captable')) as id"))).all()
    return [UUID(str(r.id)) for r in rows]


async def holdings_of(
    tx: RequestTransaction, vc_tenant_id: UUID, company_ids: Sequence[UUID]
) -> list[tuple[UUID, dict[str, str]]]:
    """The VC's per-stakeholder holding values in the given companies (one statement)."""
    statement = select(captable_holdings.c.tenant_id, captable_holdings.c.value_by_stakeholder).where(
        captable_holdings.c.vc_tenant_id == vc_tenant_id, captable_holdings.c.tenant_id == any_ids(company_ids)
    )
    return [(r.tenant_id, r.value_by_stakeholder) for r in (await tx.execute(statement)).all()]
