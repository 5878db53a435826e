"""The VC's portfolio: every startup that granted the acting VC the `captable` scope, with the VC's holding.

Without `as_of` it reads the snapshots kept current by every ledger write (one statement for all companies);
with `as_of` it loads the granted ledgers and links in one statement each and replays them. Either way the
number of statements does not depend on the number of companies, and the reads are audited in one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from captable.funds import Metric, Undefined, moic
from db.captable_records import PortfolioRow
from db.queries import captable
from db.records import TenantRecord
from policies.principal import TenantKind
from resolvers.captable.captable import SCOPE
from resolvers.captable.ledgers import compute_snapshot, ledger_from_rows, links_by_vc
from resolvers.common.audit import audit_granted_reads
from resolvers.common.budget import charged
from resolvers.common.context import RequestContext


@dataclass(frozen=True)
class PortfolioEntry:
    company_id: UUID
    as_of: date | None
    currency: str | None
    stakeholder_ids: tuple[str, ...]
    ownership: Decimal
    fully_diluted_ownership: Decimal
    invested: Decimal
    price_per_share: Decimal | None
    price_date: date | None
    holding_value: Decimal | None
    moic: Metric
    company: TenantRecord | None  # the company's tenant row (None: the policies no longer show it)


def _entry(row: PortfolioRow, company: TenantRecord | None) -> PortfolioEntry:
    zero = Decimal(0)
    invested = row.invested if row.invested is not None else zero
    value = row.holding_value
    return PortfolioEntry(
        company_id=row.company_id,
        as_of=row.as_of,
        currency=row.currency,
        stakeholder_ids=tuple(row.stakeholder_ids or ()),
        ownership=row.ownership if row.ownership is not None else zero,
        fully_diluted_ownership=row.fully_diluted_ownership if row.fully_diluted_ownership is not None else zero,
        invested=invested,
        price_per_share=row.price_per_share,
        price_date=row.price_date,
        holding_value=value,
        moic=moic(value, invested) if value is not None else Undefined("no price per share yet"),
        company=company,
    )


async def _replayed(ctx: RequestContext, vc_id: UUID, as_of: date) -> list[PortfolioRow]:
    ids = await captable.granted_companies(ctx.tx)
    ledgers = await captable.ledger_rows_of(ctx.tx, ids)
    links = await captable.links_of(ctx.tx, ids)  # the policies show only this VC's links
    rows = []
    for company_id in sorted(ids):
        mine = [(k.stakeholder_id, k.vc_tenant_id) for k in links if k.tenant_id == company_id]
        stored = ledgers.get(company_id) or []
        if not stored:
            rows.append(PortfolioRow(company_id, None, None, None, None, None, None, None, None, None))
            continue
        snapshot = compute_snapshot(company_id, ledger_from_rows(stored), links_by_vc(mine), as_of, stored[-1].seq)
        holding = next((h for h in snapshot.holdings if h.vc_tenant_id == vc_id), None)
        rows.append(
            PortfolioRow(
                company_id=company_id,
                as_of=as_of,
                currency=snapshot.currency,
                price_per_share=snapshot.price_per_share,
                price_date=snapshot.price_date,
                stakeholder_ids=holding.stakeholder_ids if holding else None,
                ownership=holding.ownership if holding else None,
                fully_diluted_ownership=holding.fully_diluted_ownership if holding else None,
                invested=holding.invested if holding else None,
                holding_value=holding.holding_value if holding else None,
            )
        )
    return rows


@charged("portfolio")
async def portfolio(ctx: RequestContext, as_of: date | None) -> list[PortfolioEntry]:
    acting = ctx.require_tenant(TenantKind.VC)
    rows = await captable.portfolio_rows(ctx.tx, acting.id) if as_of is None else await _replayed(ctx, acting.id, as_of)
    ids = [r.company_id for r in rows]
    # The reads are logged (a side transaction) while the companies load (the request's): both have ended,
    # and the log is committed, before anything is returned; the first failure is raised.
    outcomes = await asyncio.gather(
        ctx.loaders.tenants(ids), audit_granted_reads(ctx, ids, SCOPE, "portfolio"), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    companies = outcomes[0]
    assert isinstance(companies, list)
    return [_entry(r, c) for r, c in zip(rows, companies, strict=True)]


def total(values: Sequence[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))
