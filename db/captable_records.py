"""Cap-table and fund rows as the layers above see them: frozen, typed, no SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class LedgerRow:
    """One stored ledger item: an OCF object or transaction, in ledger order (`seq`)."""

    tenant_id: UUID
    id: str
    object_type: str
    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class NewLedgerRow:
    id: str
    object_type: str
    effective_date: date | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class LinkRecord:
    tenant_id: UUID
    stakeholder_id: str
    vc_tenant_id: UUID


@dataclass(frozen=True)
class HoldingRecord:
    """A VC's holding in one company, derived from the linked stakeholders (engine's holding metrics)."""

    vc_tenant_id: UUID
    stakeholder_ids: list[str]
    ownership: Decimal
    fully_diluted_ownership: Decimal
    invested: Decimal
    holding_value: Decimal | None
    value_by_stakeholder: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotRecord:
    """The derived cap table of one company, recomputed with every ledger write."""

    tenant_id: UUID
    as_of: date
    ledger_seq: int
    outstanding: Decimal
    fully_diluted: Decimal
    price_per_share: Decimal | None
    price_date: date | None
    currency: str | None
    positions: list[dict[str, Any]]
    ownership_by_class: dict[str, str]
    pools: list[dict[str, Any]]
    holdings: tuple[HoldingRecord, ...] = ()


@dataclass(frozen=True)
class PortfolioRow:
    """One granted company as the acting VC sees it: its snapshot and the VC's holding, if any."""

    company_id: UUID
    as_of: date | None
    currency: str | None
    price_per_share: Decimal | None
    price_date: date | None
    stakeholder_ids: list[str] | None
    ownership: Decimal | None
    fully_diluted_ownership: Decimal | None
    invested: Decimal | None
    holding_value: Decimal | None


@dataclass(frozen=True)
class FundRecord:
    tenant_id: UUID
    id: UUID
    name: str
    currency: str
    vintage_year: int | None


@dataclass(frozen=True)
class FundFlowRecord:
    """A commitment, capital call or distribution: one dated amount of a fund."""

    kind: str  # commitment | capital_call | distribution
    tenant_id: UUID
    id: UUID
    fund_id: UUID
    on: date
    amount: Decimal
    limited_partner: str | None = None


@dataclass(frozen=True)
class FundInvestmentRecord:
    tenant_id: UUID
    id: UUID
    fund_id: UUID
    company_tenant_id: UUID
    stakeholder_id: str
    allocation: Decimal
