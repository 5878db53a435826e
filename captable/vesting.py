"""Vesting status of a grant: OCF vesting graphs (start date, relative/absolute schedules, event triggers).

Dates of a relative schedule are counted in months from the anchor's own anchor, so a start on the 31st vests
on the last day of shorter months (OCF ``VESTING_START_DAY_OR_LAST_DAY_OF_MONTH``). Amounts are cumulative:
vested = round(quantity x portion vested so far), rounded down for ``CUMULATIVE_ROUND_DOWN`` and half-up for
the other allocation types (front/back-loading is not modelled). A grant with neither vesting terms nor an
explicit ``vestings`` list is fully vested at issuance. Without a TX_VESTING_START the schedule starts on the
issuance date. Accelerations add their quantity on their date.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from captable.events import Issuance, VestingCondition, VestingEvent, VestingTerms
from captable.ledger import Ledger

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class VestingStatus:
    security_id: str
    quantity: Decimal
    vested: Decimal
    unvested: Decimal


def add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def monthly_with_cliff(terms_id: str, months: int = 48, cliff_months: int = 12) -> VestingTerms:
    """The usual schedule: ``cliff_months/months`` at the cliff, then ``1/months`` each month."""
    return VestingTerms(
        id=terms_id,
        name=f"{months} months, {cliff_months}-month cliff",
        allocation_type="CUMULATIVE_ROUND_DOWN",
        conditions=(
            VestingCondition("start", "VESTING_START_DATE", quantity=ZERO, next_condition_ids=("cliff",)),
            VestingCondition(
                "cliff",
                "VESTING_SCHEDULE_RELATIVE",
                portion=(Decimal(cliff_months), Decimal(months)),
                period_length=cliff_months,
                relative_to="start",
                next_condition_ids=("monthly",),
            ),
            VestingCondition(
                "monthly",
                "VESTING_SCHEDULE_RELATIVE",
                portion=(ONE, Decimal(months)),
                period_length=1,
                occurrences=months - cliff_months,
                relative_to="cliff",
            ),
        ),
    )


def tranches(terms: VestingTerms, start: date, events: Mapping[str, date]) -> list[tuple[date, VestingCondition]]:
    """Every (date, condition) at which a tranche vests; ``events``: event-triggered condition id → date."""
    by_id = {c.id: c for c in terms.conditions}
    # anchor: condition id -> (base date, months offset) of its last occurrence
    anchors: dict[str, tuple[date, int]] = {}
    out: list[tuple[date, VestingCondition]] = []
    pointed = {n for c in terms.conditions for n in c.next_condition_ids}
    queue = [c.id for c in terms.conditions if c.trigger == "VESTING_START_DATE" or c.id not in pointed]
    seen: set[str] = set()
    while queue:
        condition = by_id.get(queue.pop(0))
        if condition is None or condition.id in seen:
            continue
        when = _resolve(condition, start, events, anchors)
        if when is None:
            continue
        seen.add(condition.id)
        out.extend(when)
        queue.extend(condition.next_condition_ids)
    return sorted(out, key=lambda pair: pair[0])


def _resolve(
    c: VestingCondition, start: date, events: Mapping[str, date], anchors: dict[str, tuple[date, int]]
) -> list[tuple[date, VestingCondition]] | None:
    if c.trigger == "VESTING_START_DATE":
        anchors[c.id] = (start, 0)
        return [(start, c)]
    if c.trigger == "VESTING_SCHEDULE_ABSOLUTE" and c.absolute_date is not None:
        anchors[c.id] = (c.absolute_date, 0)
        return [(c.absolute_date, c)]
    if c.trigger == "VESTING_EVENT":
        if c.id not in events:
            return None
        anchors[c.id] = (events[c.id], 0)
        return [(events[c.id], c)]
    if c.trigger == "VESTING_SCHEDULE_RELATIVE" and c.relative_to in anchors:
        base, offset = anchors[c.relative_to]
        dates = []
        for k in range(1, c.occurrences + 1):
            if c.period_type == "DAYS":
                dates.append(add_months(base, offset) + timedelta(days=k * c.period_length))
            else:
                dates.append(add_months(base, offset + k * c.period_length))
        if c.period_type == "DAYS":
            anchors[c.id] = (dates[-1], 0)
        else:
            anchors[c.id] = (base, offset + c.occurrences * c.period_length)
        return [(d, c) for d in dates]
    return None


def vested_quantity(
    quantity: Decimal, terms: VestingTerms, start: date, as_of: date, events: Mapping[str, date] | None = None
) -> Decimal:
    fraction = Fraction(0)  # exact: 12/48 + 36 x 1/48 must be exactly 1
    fixed = ZERO
    for when, condition in tranches(terms, start, events or {}):
        if when > as_of:
            break
        if condition.portion is not None:
            share = Fraction(condition.portion[0]) / Fraction(condition.portion[1])
            fraction += share * (1 - fraction) if condition.remainder else share
        elif condition.quantity:
            fixed += condition.quantity
    exact = Fraction(quantity) * fraction
    if terms.allocation_type != "CUMULATIVE_ROUND_DOWN":
        exact += Fraction(1, 2)
    whole = math.floor(exact)
    vested = Decimal(whole) + fixed
    return min(vested, quantity)


def vesting_status(ledger: Ledger, security_id: str, as_of: date) -> VestingStatus:
    """Vested and unvested quantity of the grant ``security_id`` as originally issued."""
    issuance: Issuance = ledger.issuance_by_security_id[security_id]
    quantity = issuance.quantity or ZERO
    mine = [
        e for e in ledger.events if isinstance(e, VestingEvent) and e.security_id == security_id and e.date <= as_of
    ]
    terms = ledger.vesting_terms_by_id.get(issuance.vesting_terms_id or "")
    if issuance.vestings:
        vested = sum((amount for when, amount in issuance.vestings if when <= as_of), ZERO)
    elif terms is None:
        vested = quantity if issuance.date <= as_of else ZERO
    else:
        starts = [e.date for e in mine if e.object_type == "TX_VESTING_START"]
        start = min(starts) if starts else issuance.date
        triggered = {e.condition_id: e.date for e in mine if e.object_type == "TX_VESTING_EVENT" and e.condition_id}
        vested = vested_quantity(quantity, terms, start, as_of, triggered)
    vested += sum((e.quantity or ZERO for e in mine if e.object_type == "TX_VESTING_ACCELERATION"), ZERO)
    vested = min(vested, quantity)
    return VestingStatus(security_id, quantity, vested, quantity - vested)
