"""Ledger objects and events: immutable, typed, quantities and money as ``Decimal``.

The model follows the Open Cap Format: a *security* (one certificate, grant, warrant, SAFE, note…) is created
by an issuance and ended by a security event (transfer, cancellation, repurchase, conversion, exercise,
release, retraction, reissuance). An event that only partly consumes a security names a
``balance_security_id`` and every new holding is a separate issuance, as in OCF. Class-level events (splits,
authorized-share and pool adjustments) change classes and plans.
Nothing is ever edited: a correction is a new event.

``extra`` carries the OCF fields the engine does not interpret (comments, legends, addresses, exemptions…) so
an import exports back losslessly; it never takes part in equality.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

ONE = Decimal(1)
ZERO = Decimal(0)


def _extra() -> Any:
    return field(default_factory=dict, compare=False, repr=False)


class SecurityKind(StrEnum):
    STOCK = "STOCK"
    EQUITY_COMPENSATION = "EQUITY_COMPENSATION"
    WARRANT = "WARRANT"
    CONVERTIBLE = "CONVERTIBLE"


class Action(StrEnum):
    ACCEPTANCE = "ACCEPTANCE"
    TRANSFER = "TRANSFER"
    CANCELLATION = "CANCELLATION"
    REPURCHASE = "REPURCHASE"
    CONVERSION = "CONVERSION"
    EXERCISE = "EXERCISE"
    RELEASE = "RELEASE"
    RETRACTION = "RETRACTION"
    REISSUANCE = "REISSUANCE"


class ConvertibleType(StrEnum):
    SAFE = "SAFE"
    NOTE = "NOTE"
    J_KISS = "J_KISS"
    CONVERTIBLE_SECURITY = "CONVERTIBLE_SECURITY"


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str


# ---- objects -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issuer:
    id: str
    legal_name: str
    formation_date: dt.date | None = None
    authorized_shares: Decimal | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class Stakeholder:
    id: str
    name: str
    stakeholder_type: str = "INDIVIDUAL"
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class StockClass:
    id: str
    name: str
    class_type: str  # COMMON | PREFERRED
    authorized_shares: Decimal | None
    votes_per_share: Decimal = ONE
    seniority: Decimal = ONE
    liquidation_preference_multiple: Decimal | None = None
    participation_cap_multiple: Decimal | None = None
    conversion_ratio: Decimal = ONE  # common shares per share, used for as-converted counts
    converts_to_stock_class_id: str | None = None
    price_per_share: Money | None = None
    board_approval_date: dt.date | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class StockPlan:
    id: str
    name: str
    reserved_shares: Decimal
    stock_class_ids: tuple[str, ...] = ()
    cancellation_behavior: str | None = None  # RETURN_TO_POOL | RETIRE | HOLD_AS_CAPITAL_STOCK | …
    board_approval_date: dt.date | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class VestingCondition:
    """One node of an OCF vesting graph; a tranche vests ``portion`` (or ``quantity``) when triggered."""

    id: str
    trigger: str  # VESTING_START_DATE | VESTING_SCHEDULE_RELATIVE | VESTING_SCHEDULE_ABSOLUTE | VESTING_EVENT
    portion: tuple[Decimal, Decimal] | None = None  # (numerator, denominator)
    remainder: bool = False
    quantity: Decimal | None = None
    period_length: int = 0
    period_type: str = "MONTHS"  # MONTHS | DAYS
    occurrences: int = 1
    relative_to: str | None = None
    absolute_date: dt.date | None = None
    next_condition_ids: tuple[str, ...] = ()
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class VestingTerms:
    id: str
    name: str
    allocation_type: str  # CUMULATIVE_ROUND_DOWN | CUMULATIVE_ROUNDING | …
    conditions: tuple[VestingCondition, ...]
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class Valuation:
    id: str
    date: dt.date
    stock_class_id: str
    price_per_share: Money
    valuation_type: str = "409A"
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class Financing:
    """A priced round. Pre-money is stored explicitly, never derived from the issuances."""

    id: str
    date: dt.date
    name: str
    issuance_ids: tuple[str, ...] = ()
    pre_money: Money | None = None
    price_per_share: Money | None = None
    amount_raised: Money | None = None
    extra: Mapping[str, Any] = _extra()


# ---- events --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConvertibleTerms:
    valuation_cap: Decimal | None = None
    discount: Decimal | None = None  # fraction: 0.2 means 20 % off the round price
    interest_rate: Decimal | None = None  # simple annual rate, actual/365
    post_money: bool = False


@dataclass(frozen=True, slots=True)
class Issuance:
    """Creates ``security_id``. ``quantity`` is shares for stock/options/warrants, money for convertibles."""

    id: str
    date: dt.date
    kind: SecurityKind
    security_id: str
    stakeholder_id: str
    quantity: Decimal | None
    stock_class_id: str | None = None
    stock_plan_id: str | None = None
    vesting_terms_id: str | None = None
    price: Money | None = None  # share price, exercise price, or investment amount
    compensation_type: str | None = None  # OPTION | RSU | …
    convertible_type: ConvertibleType | None = None
    terms: ConvertibleTerms | None = None
    vestings: tuple[tuple[dt.date, Decimal], ...] = ()
    custom_id: str | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """Ends (all or part of) ``security_id``; ``quantity`` None means the whole remaining position."""

    id: str
    date: dt.date
    kind: SecurityKind
    action: Action
    security_id: str
    quantity: Decimal | None = None
    resulting_security_ids: tuple[str, ...] = ()
    balance_security_id: str | None = None
    price: Money | None = None
    split_transaction_id: str | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class Consolidation:
    id: str
    date: dt.date
    security_ids: tuple[str, ...]
    resulting_security_id: str
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class StockClassSplit:
    id: str
    date: dt.date
    stock_class_id: str
    numerator: Decimal
    denominator: Decimal
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class AuthorizedSharesAdjustment:
    """``stock_class_id`` None adjusts the issuer-level authorization."""

    id: str
    date: dt.date
    new_shares_authorized: Decimal
    stock_class_id: str | None = None
    issuer_id: str | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class ConversionRatioAdjustment:
    id: str
    date: dt.date
    stock_class_id: str
    new_ratio: Decimal
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class PoolAdjustment:
    id: str
    date: dt.date
    stock_plan_id: str
    shares_reserved: Decimal
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class VestingEvent:
    """TX_VESTING_START / TX_VESTING_EVENT (``condition_id``) and TX_VESTING_ACCELERATION (``quantity``)."""

    id: str
    date: dt.date
    object_type: str
    security_id: str
    condition_id: str | None = None
    quantity: Decimal | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An event kept for export and reference checks but without effect on positions (repricing, …)."""

    id: str
    date: dt.date
    object_type: str
    security_id: str | None = None
    stakeholder_id: str | None = None
    stock_plan_id: str | None = None
    quantity: Decimal | None = None
    extra: Mapping[str, Any] = _extra()


Event = (
    Issuance
    | SecurityEvent
    | Consolidation
    | StockClassSplit
    | AuthorizedSharesAdjustment
    | ConversionRatioAdjustment
    | PoolAdjustment
    | VestingEvent
    | OtherEvent
)

LedgerObject = Issuer | Stakeholder | StockClass | StockPlan | VestingTerms | Valuation | Financing

_OBJECT_TYPES: dict[type, str] = {
    Issuer: "ISSUER",
    Stakeholder: "STAKEHOLDER",
    StockClass: "STOCK_CLASS",
    StockPlan: "STOCK_PLAN",
    VestingTerms: "VESTING_TERMS",
    Valuation: "VALUATION",
    Financing: "FINANCING",
    Consolidation: "TX_STOCK_CONSOLIDATION",
    StockClassSplit: "TX_STOCK_CLASS_SPLIT",
    ConversionRatioAdjustment: "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT",
    PoolAdjustment: "TX_STOCK_PLAN_POOL_ADJUSTMENT",
}


def object_type(item: LedgerObject | Event) -> str:
    """The OCF ``object_type`` name of an object or event (used in problems and on export)."""
    match item:
        case Issuance():
            return f"TX_{item.kind}_ISSUANCE"
        case SecurityEvent():
            return f"TX_{item.kind}_{item.action}"
        case AuthorizedSharesAdjustment():
            level = "ISSUER" if item.stock_class_id is None else "STOCK_CLASS"
            return f"TX_{level}_AUTHORIZED_SHARES_ADJUSTMENT"
        case VestingEvent() | OtherEvent():
            return item.object_type
        case _:
            return _OBJECT_TYPES[type(item)]
