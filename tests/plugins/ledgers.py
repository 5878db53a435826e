"""Small ledgers for tests: events, a base ledger, and a company with preferred classes and SAFEs for
waterfalls and pro formas."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from captable.events import (
    Action,
    ConvertibleTerms,
    ConvertibleType,
    Issuance,
    Issuer,
    Money,
    SecurityEvent,
    SecurityKind,
    Stakeholder,
    StockClass,
    StockPlan,
)
from captable.ledger import Ledger

D = Decimal


def usd(amount: str | int) -> Money:
    return Money(D(amount), "USD")


def stock(
    event_id: str,
    security_id: str,
    holder: str,
    quantity: int | str,
    when: date,
    stock_class: str = "common",
    price: str = "0.001",
) -> Issuance:
    return Issuance(
        event_id,
        when,
        SecurityKind.STOCK,
        security_id,
        holder,
        D(quantity),
        stock_class_id=stock_class,
        price=usd(price),
    )


def option(
    event_id: str, security_id: str, holder: str, quantity: int | str, when: date, plan: str = "plan"
) -> Issuance:
    return Issuance(
        event_id,
        when,
        SecurityKind.EQUITY_COMPENSATION,
        security_id,
        holder,
        D(quantity),
        stock_plan_id=plan,
        stock_class_id="common",
        price=usd("0.10"),
        compensation_type="OPTION",
    )


def act(
    event_id: str,
    action: Action,
    security_id: str,
    when: date,
    quantity: int | str | None = None,
    resulting: tuple[str, ...] = (),
    balance: str | None = None,
    kind: SecurityKind = SecurityKind.STOCK,
) -> SecurityEvent:
    return SecurityEvent(
        event_id,
        when,
        kind,
        action,
        security_id,
        None if quantity is None else D(quantity),
        resulting,
        balance,
    )


def base_ledger(*events: object, authorized: int = 10_000_000, reserved: int = 1_000_000) -> Ledger:
    return Ledger(
        issuer=Issuer("co", "Co Inc."),
        stakeholders=tuple(Stakeholder(s, s.title()) for s in ("alice", "bob", "vc", "emp")),
        stock_classes=(
            StockClass("common", "Common", "COMMON", D(authorized)),
            StockClass("seriesA", "Series A", "PREFERRED", D(5_000_000), converts_to_stock_class_id="common"),
        ),
        stock_plans=(StockPlan("plan", "2024 Plan", D(reserved), ("common",)),),
        events=tuple(events),  # type: ignore[arg-type]
    )


DAY = date(2024, 1, 1)
EXIT = date(2025, 1, 1)


def preferred(cid: str, price: str, multiple: str = "1", cap: str | None = None, seniority: str = "1") -> StockClass:
    return StockClass(
        cid,
        cid,
        "PREFERRED",
        None,
        seniority=D(seniority),
        liquidation_preference_multiple=D(multiple),
        participation_cap_multiple=None if cap is None else D(cap),
        price_per_share=usd(price),
        converts_to_stock_class_id="common",
    )


def company(classes: tuple[StockClass, ...], *events: Issuance, reserved: int = 10_000_000) -> Ledger:
    holders = sorted({e.stakeholder_id for e in events})
    return Ledger(
        issuer=Issuer("co", "Co"),
        stakeholders=tuple(Stakeholder(h, h) for h in holders),
        stock_classes=(StockClass("common", "Common", "COMMON", None), *classes),
        stock_plans=(StockPlan("plan", "Plan", D(reserved), ("common",)),),
        events=events,
    )


def safe(
    sid: str,
    holder: str,
    amount: str,
    cap: str | None,
    kind: ConvertibleType = ConvertibleType.SAFE,
    post_money: bool = True,
    interest: str | None = None,
) -> Issuance:
    return Issuance(
        f"i-{sid}",
        DAY,
        SecurityKind.CONVERTIBLE,
        sid,
        holder,
        D(amount),
        price=usd(amount),
        convertible_type=kind,
        terms=ConvertibleTerms(
            valuation_cap=None if cap is None else D(cap),
            post_money=post_money,
            interest_rate=None if interest is None else D(interest),
        ),
    )
