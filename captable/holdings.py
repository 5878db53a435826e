"""An investor's holding in one company: ownership, invested amount, latest price, value, MOIC.

- *Invested*: the cost of the stock and convertibles issued to the holders, i.e. share price x quantity and
  investment amounts. Issuances that only re-paper a holding the same holders already had (balance
  certificates, reissuances, splits, conversions of their own securities) are not new money and are skipped.
- *Latest price per share*: the most recent financing with a price, or valuation, on or before ``as_of``
  (a financing wins over a valuation of the same day).
- *Holding value*: latest price x the holders' fully diluted shares under the chosen convertible rule; a
  convertible that the rule leaves unconverted is carried at its investment amount.
Currencies are assumed to be one per company (no FX).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from captable.events import Issuance, SecurityEvent, SecurityKind
from captable.funds import Metric, moic
from captable.ledger import Ledger
from captable.replay import ConvertibleRule, replay

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LatestPrice:
    price_per_share: Decimal
    date: dt.date
    source_id: str  # the financing or valuation id


@dataclass(frozen=True, slots=True)
class HoldingMetrics:
    ownership: Decimal
    fully_diluted_ownership: Decimal
    invested: Decimal
    latest_price: LatestPrice | None
    holding_value: Decimal | None
    moic: Metric


def latest_price(ledger: Ledger, as_of: dt.date) -> LatestPrice | None:
    candidates = [
        (f.date, 1, f.price_per_share.amount, f.id)
        for f in ledger.financings
        if f.price_per_share is not None and f.date <= as_of
    ]
    candidates += [(v.date, 0, v.price_per_share.amount, v.id) for v in ledger.valuations if v.date <= as_of]
    if not candidates:
        return None
    when, _, price, source = max(candidates, key=lambda c: (c[0], c[1]))
    return LatestPrice(price, when, source)


def invested_amount(ledger: Ledger, holder_ids: Iterable[str], as_of: dt.date) -> Decimal:
    holders = set(holder_ids)
    index = ledger.issuance_by_security_id
    repapered: set[str] = set()
    for event in ledger.events:
        if isinstance(event, SecurityEvent):
            source = index.get(event.security_id)
            if event.balance_security_id:
                repapered.add(event.balance_security_id)
            if source is not None and source.stakeholder_id in holders:
                repapered.update(event.resulting_security_ids)
    total = ZERO
    for event in ledger.events:
        if (
            isinstance(event, Issuance)
            and event.stakeholder_id in holders
            and event.date <= as_of
            and event.security_id not in repapered
            and event.price is not None
        ):
            if event.kind is SecurityKind.STOCK:
                total += event.price.amount * (event.quantity or ZERO)
            elif event.kind is SecurityKind.CONVERTIBLE:
                total += event.price.amount
    return total


def holding_metrics(
    ledger: Ledger, holder_ids: Iterable[str], as_of: dt.date, rule: ConvertibleRule = ConvertibleRule.AT_CAP
) -> HoldingMetrics:
    holders = set(holder_ids)
    state = replay(ledger, as_of, rule)
    ownership = sum((state.ownership_by_holder.get(h, ZERO) for h in holders), ZERO)
    fd_ownership = sum((state.fully_diluted_ownership_by_holder.get(h, ZERO) for h in holders), ZERO)
    invested = invested_amount(ledger, holders, as_of)
    price = latest_price(ledger, as_of)
    value: Decimal | None = None
    if price is not None:
        value = ZERO
        for position in state.positions_of(holders):
            if position.kind is SecurityKind.CONVERTIBLE and not position.fully_diluted:
                value += position.quantity
            else:
                value += position.fully_diluted * price.price_per_share
    return HoldingMetrics(
        ownership=ownership,
        fully_diluted_ownership=fd_ownership,
        invested=invested,
        latest_price=price,
        holding_value=value,
        moic=moic(value, invested) if value is not None else moic(ZERO, ZERO),
    )
