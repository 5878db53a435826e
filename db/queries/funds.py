"""A VC's funds: commitments, capital calls, distributions and investments (the VC's own rows only)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, Table, delete, insert, select, update

from db.captable_records import FundFlowRecord, FundInvestmentRecord, FundRecord
from db.captable_tables import capital_calls, distributions, fund_commitments, fund_investments, funds
from db.pagination import Page, Window, counter, keyset, page_of
from db.session import RequestTransaction

# kind → (table, date column)
FLOWS: dict[str, tuple[Table, str]] = {
    "commitment": (fund_commitments, "committed_on"),
    "capital_call": (capital_calls, "call_date"),
    "distribution": (distributions, "distribution_date"),
}


def _fund(row: Row[*tuple[Any, ...]]) -> FundRecord:
    m = row._mapping
    return FundRecord(m["tenant_id"], m["id"], m["name"], m["currency"], m["vintage_year"])


def _flow(kind: str, row: Row[*tuple[Any, ...]]) -> FundFlowRecord:
    m = row._mapping
    return FundFlowRecord(
        kind, m["tenant_id"], m["id"], m["fund_id"], m[FLOWS[kind][1]], m["amount"], m.get("limited_partner")
    )


async def create_fund(
    tx: RequestTransaction, tenant_id: UUID, name: str, currency: str, vintage_year: int | None
) -> FundRecord:
    statement = (
        insert(funds)
        .values(tenant_id=tenant_id, name=name, currency=currency, vintage_year=vintage_year)
        .returning(*funds.columns)
    )
    return _fund((await tx.execute(statement)).one())


async def update_fund(
    tx: RequestTransaction, tenant_id: UUID, fund_id: UUID, fields: dict[str, Any]
) -> FundRecord | None:
    statement = (
        update(funds)
        .where(funds.c.tenant_id == tenant_id, funds.c.id == fund_id)
        .values(**fields)
        .returning(*funds.columns)
    )
    row = (await tx.execute(statement)).first()
    return _fund(row) if row else None


async def delete_fund(tx: RequestTransaction, tenant_id: UUID, fund_id: UUID) -> bool:
    statement = delete(funds).where(funds.c.tenant_id == tenant_id, funds.c.id == fund_id).returning(funds.c.id)
    return (await tx.execute(statement)).first() is not None


async def fund_by_id(tx: RequestTransaction, tenant_id: UUID, fund_id: UUID) -> FundRecord | None:
    row = (await tx.execute(select(funds).where(funds.c.tenant_id == tenant_id, funds.c.id == fund_id))).first()
    return _fund(row) if row else None


async def funds_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[FundRecord]:
    statement = select(funds).where(funds.c.tenant_id == tenant_id)
    rows = (await tx.execute(keyset(statement, [funds.c.name, funds.c.id], window))).all()
    return page_of([_fund(r) for r in rows], window, count=counter(tx, statement))


async def add_flow(
    tx: RequestTransaction, kind: str, tenant_id: UUID, fund_id: UUID, values: dict[str, Any]
) -> FundFlowRecord:
    table, _ = FLOWS[kind]
    statement = insert(table).values(tenant_id=tenant_id, fund_id=fund_id, **values).returning(*table.columns)
    return _flow(kind, (await tx.execute(statement)).one())


async def delete_flow(tx: RequestTransaction, kind: str, tenant_id: UUID, flow_id: UUID) -> bool:
    table, _ = FLOWS[kind]
    statement = delete(table).where(table.c.tenant_id == tenant_id, table.c.id == flow_id).returning(table.c.id)
    return (await tx.execute(statement)).first() is not None


async def flow_by_id(tx: RequestTransaction, tenant_id: UUID, flow_id: UUID) -> FundFlowRecord | None:
    """The commitment, capital call or distribution with this id."""
    for kind, (table, _) in FLOWS.items():
        row = (await tx.execute(select(table).where(table.c.tenant_id == tenant_id, table.c.id == flow_id))).first()
        if row is not None:
            return _flow(kind, row)
    return None


async def flows_of(tx: RequestTransaction, kind: str, tenant_id: UUID, fund_id: UUID) -> list[FundFlowRecord]:
    table, date_column = FLOWS[kind]
    statement = (
        select(table)
        .where(table.c.tenant_id == tenant_id, table.c.fund_id == fund_id)
        .order_by(table.c[date_column], table.c.id)
    )
    return [_flow(kind, r) for r in (await tx.execute(statement)).all()]


async def add_investment(
    tx: RequestTransaction, tenant_id: UUID, fund_id: UUID, company_id: UUID, stakeholder_id: str, allocation: Any
) -> FundInvestmentRecord:
    statement = (
        insert(fund_investments)
        .values(
            tenant_id=tenant_id,
            fund_id=fund_id,
            company_tenant_id=company_id,
            stakeholder_id=stakeholder_id,
            allocation=allocation,
        )
        .returning(*fund_investments.columns)
    )
    return FundInvestmentRecord(**(await tx.execute(statement)).one()._mapping)


async def delete_investment(tx: RequestTransaction, tenant_id: UUID, investment_id: UUID) -> bool:
    statement = (
        delete(fund_investments)
        .where(fund_investments.c.tenant_id == tenant_id, fund_investments.c.id == investment_id)
        .returning(fund_investments.c.id)
    )
    return (await tx.execute(statement)).first() is not None


async def investment_by_id(tx: RequestTransaction, tenant_id: UUID, investment_id: UUID) -> FundInvestmentRecord | None:
    statement = select(fund_investments).where(
        fund_investments.c.tenant_id == tenant_id, fund_investments.c.id == investment_id
    )
    row = (await tx.execute(statement)).first()
    return FundInvestmentRecord(**row._mapping) if row else None


async def investments_of(tx: RequestTransaction, tenant_id: UUID, fund_id: UUID) -> list[FundInvestmentRecord]:
    statement = (
        select(fund_investments)
        .where(fund_investments.c.tenant_id == tenant_id, fund_investments.c.fund_id == fund_id)
        .order_by(fund_investments.c.company_tenant_id, fund_investments.c.stakeholder_id)
    )
    return [FundInvestmentRecord(**r._mapping) for r in (await tx.execute(statement)).all()]
