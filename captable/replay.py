"""Replay a ledger as of a date into a cap table; the same pass collects the replay problems.

Order: events dated on or before ``as_of``, by date, then by rank within a day, then by ledger order.
Ranks: class/plan/issuer adjustments and splits (0), issuances (1), security events (2), the rest (3).
A split dated D therefore applies to the stock issued before D; issuances dated D (e.g. the reissued,
post-split certificates) are already post-split. Authorized-share and pool limits are checked at the end of
each day, so a same-day transfer (new certificate issued, old one ended) never counts twice.

Fully diluted shares = outstanding stock as converted (class conversion ratio) + outstanding options, RSUs and
warrants + unallocated pool + convertibles under a :class:`ConvertibleRule`:

- ``EXCLUDE``: unconverted convertibles count for nothing.
- ``AT_CAP``: each capped convertible counts as converted at its valuation cap. Pre-money instruments
  (notes with simple interest accrued to ``as_of``, pre-money SAFEs, J-KISS) get ``amount x FD / cap`` shares,
  FD being the fully diluted count without convertibles; post-money SAFEs then own ``amount / cap`` of the
  capitalization including every convertible (YC). Uncapped convertibles count for nothing.

Replay never raises on a bad ledger: an event that breaks a rule is skipped (and reported by
:func:`replay_problems`), so a rejected import can still be inspected and exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from captable import conversion
from captable.events import (
    Action,
    AuthorizedSharesAdjustment,
    Consolidation,
    ConversionRatioAdjustment,
    ConvertibleType,
    Event,
    Issuance,
    OtherEvent,
    PoolAdjustment,
    SecurityEvent,
    SecurityKind,
    StockClassSplit,
    VestingEvent,
    object_type,
)
from captable.ledger import Ledger
from captable.problems import Problem

ZERO = Decimal(0)
ONE = Decimal(1)
_NEEDS_RESULT = {Action.TRANSFER, Action.REISSUANCE, Action.EXERCISE, Action.RELEASE, Action.CONVERSION}
_CONSERVES = {Action.TRANSFER, Action.REISSUANCE}  # resulting securities must hold exactly what left


class ConvertibleRule(StrEnum):
    EXCLUDE = "EXCLUDE"
    AT_CAP = "AT_CAP"


@dataclass(frozen=True, slots=True)
class Position:
    security_id: str
    stakeholder_id: str
    kind: SecurityKind
    quantity: Decimal  # shares; money for convertibles
    stock_class_id: str | None
    stock_plan_id: str | None
    issued_on: date
    fully_diluted: Decimal  # as-converted shares this position counts for in the fully diluted count


@dataclass(frozen=True, slots=True)
class PoolStatus:
    stock_plan_id: str
    reserved: Decimal
    granted: Decimal  # outstanding awards (options, RSUs) under the plan
    issued: Decimal  # shares that left the pool for good: exercises, releases, stock issued under the plan
    available: Decimal


@dataclass(frozen=True, slots=True)
class CapTableState:
    as_of: date
    convertible_rule: ConvertibleRule
    positions: tuple[Position, ...]
    outstanding_shares: Decimal
    outstanding_by_class: Mapping[str, Decimal]
    fully_diluted_shares: Decimal
    pools: Mapping[str, PoolStatus]
    ownership_by_holder: Mapping[str, Decimal]  # share of outstanding stock, as converted
    fully_diluted_by_holder: Mapping[str, Decimal]  # as-converted shares, options, warrants, convertibles
    fully_diluted_ownership_by_holder: Mapping[str, Decimal]
    ownership_by_class: Mapping[str, Decimal]  # share of outstanding stock, as converted

    def positions_of(self, holder_ids: Iterable[str]) -> tuple[Position, ...]:
        wanted = set(holder_ids)
        return tuple(p for p in self.positions if p.stakeholder_id in wanted)


def replay(ledger: Ledger, as_of: date, rule: ConvertibleRule = ConvertibleRule.EXCLUDE) -> CapTableState:
    engine = _Engine(ledger, collect=False)
    engine.run(as_of)
    return engine.state(as_of, rule)


def replay_problems(ledger: Ledger) -> list[Problem]:
    """The problems found by replaying every event (references to objects are checked in ``validate``)."""
    engine = _Engine(ledger, collect=True)
    engine.run(None)
    return engine.problems


class _Live:
    __slots__ = ("issuance", "quantity")

    def __init__(self, issuance: Issuance, quantity: Decimal) -> None:
        self.issuance = issuance
        self.quantity = quantity


def _rank(event: Event) -> int:
    if isinstance(event, Issuance):
        return 1
    if isinstance(event, SecurityEvent | Consolidation):
        return 2
    if isinstance(event, StockClassSplit | AuthorizedSharesAdjustment | ConversionRatioAdjustment | PoolAdjustment):
        return 0
    return 3


class _Engine:
    def __init__(self, ledger: Ledger, collect: bool) -> None:
        self.ledger = ledger
        self.collect = collect
        self.problems: list[Problem] = []
        self.index = ledger.issuance_by_security_id
        self.live: dict[str, _Live] = {}
        self.ended: dict[str, str] = {}
        self.authorized = {c.id: c.authorized_shares for c in ledger.stock_classes}
        self.ratio = {c.id: c.conversion_ratio for c in ledger.stock_classes}
        self.issuer_authorized = ledger.issuer.authorized_shares
        self.reserved = {p.id: p.reserved_shares for p in ledger.stock_plans}
        self.retire = {p.id for p in ledger.stock_plans if p.cancellation_behavior == "RETIRE"}
        self.plan_issued: dict[str, Decimal] = {}
        self.plan_granted: dict[str, Decimal] = {}
        self.class_outstanding: dict[str, Decimal] = {}
        self.total_outstanding = ZERO
        self.dirty_classes: dict[str, tuple[Event, str]] = {}
        self.dirty_plans: dict[str, tuple[Event, str]] = {}
        self.dirty_issuer: tuple[Event, str] | None = None

    # ---- driver ----

    def run(self, as_of: date | None) -> None:
        events = self.ledger.events
        order = sorted(
            (i for i, e in enumerate(events) if as_of is None or e.date <= as_of),
            key=lambda i: (events[i].date, _rank(events[i]), i),
        )
        day: date | None = None
        for i in order:
            event = events[i]
            if event.date != day:
                self._end_of_day()
                day = event.date
            self._apply(event)
        self._end_of_day()

    def _problem(self, event: Event, field: str, reason: str) -> None:
        if self.collect:
            self.problems.append(Problem(event.id, object_type(event), field, reason))

    def _apply(self, event: Event) -> None:
        match event:
            case Issuance():
                self._issue(event)
            case SecurityEvent():
                self._security_event(event)
            case Consolidation():
                self._consolidate(event)
            case StockClassSplit():
                self._split(event)
            case AuthorizedSharesAdjustment():
                if event.stock_class_id is None:
                    self.issuer_authorized = event.new_shares_authorized
                    self.dirty_issuer = (event, "new_shares_authorized")
                elif event.stock_class_id in self.authorized:
                    self.authorized[event.stock_class_id] = event.new_shares_authorized
                    self.dirty_classes[event.stock_class_id] = (event, "new_shares_authorized")
            case ConversionRatioAdjustment():
                if event.stock_class_id in self.ratio:
                    self.ratio[event.stock_class_id] = event.new_ratio
            case PoolAdjustment():
                if event.stock_plan_id in self.reserved:
                    self.reserved[event.stock_plan_id] = event.shares_reserved
                    self.dirty_plans[event.stock_plan_id] = (event, "shares_reserved")
            case VestingEvent() | OtherEvent():
                if event.security_id is not None:
                    self._lookup(event, event.security_id, "security_id")

    # ---- bookkeeping ----

    def _change(self, live: _Live, delta: Decimal, event: Event) -> None:
        live.quantity += delta
        issuance = live.issuance
        if issuance.kind is SecurityKind.STOCK:
            class_id = issuance.stock_class_id or ""
            self.class_outstanding[class_id] = self.class_outstanding.get(class_id, ZERO) + delta
            self.total_outstanding += delta
            if delta > 0:
                self.dirty_classes[class_id] = (event, "quantity")
                self.dirty_issuer = (event, "quantity")
        elif issuance.kind is SecurityKind.EQUITY_COMPENSATION and issuance.stock_plan_id:
            plan = issuance.stock_plan_id
            self.plan_granted[plan] = self.plan_granted.get(plan, ZERO) + delta
            if delta > 0:
                self.dirty_plans[plan] = (event, "quantity")

    def _end(self, live: _Live, event: Event) -> None:
        self._change(live, -live.quantity, event)
        security_id = live.issuance.security_id
        del self.live[security_id]
        self.ended[security_id] = event.id

    def _end_of_day(self) -> None:
        if self.collect:
            for class_id, (event, field) in self.dirty_classes.items():
                limit = self.authorized.get(class_id)
                held = self.class_outstanding.get(class_id, ZERO)
                if limit is not None and held > limit:
                    self._problem(
                        event,
                        field,
                        f"stock class {class_id!r} would have {held} shares outstanding, above the {limit} authorized",
                    )
            limit = self.issuer_authorized
            if self.dirty_issuer is not None and limit is not None and self.total_outstanding > limit:
                event, field = self.dirty_issuer
                self._problem(
                    event,
                    field,
                    f"the issuer would have {self.total_outstanding} shares outstanding, above the {limit} authorized",
                )
            for plan_id, (event, field) in self.dirty_plans.items():
                reserved = self.reserved.get(plan_id)
                used = self.plan_granted.get(plan_id, ZERO) + self.plan_issued.get(plan_id, ZERO)
                if reserved is not None and used > reserved:
                    self._problem(
                        event,
                        field,
                        f"stock plan {plan_id!r} would have {used} shares granted "
                        f"or issued, above the {reserved} reserved",
                    )
        self.dirty_classes.clear()
        self.dirty_plans.clear()
        self.dirty_issuer = None

    def _lookup(self, event: Event, security_id: str, field: str) -> Issuance | None:
        issuance = self.index.get(security_id)
        if issuance is None:
            self._problem(event, field, f"security {security_id!r} does not exist")
            return None
        if event.date < issuance.date:
            self._problem(
                event,
                "date",
                f"dated {event.date}, before security {security_id!r} is issued on {issuance.date}",
            )
            return None
        return issuance

    # ---- handlers ----

    def _issue(self, event: Issuance) -> None:
        if event.security_id in self.live or event.security_id in self.ended:
            return  # duplicate security id, reported by validate()
        quantity = event.quantity
        if quantity is None:
            if event.kind is not SecurityKind.WARRANT:
                self._problem(event, "quantity", "quantity is required")
                return
            quantity = ZERO  # a warrant whose share count is set by a future round
        if quantity < 0:
            self._problem(event, "quantity", f"quantity {quantity} is negative")
            return
        live = _Live(event, ZERO)
        self.live[event.security_id] = live
        self._change(live, quantity, event)
        if event.kind is SecurityKind.STOCK and event.stock_plan_id:
            plan = event.stock_plan_id
            self.plan_issued[plan] = self.plan_issued.get(plan, ZERO) + quantity
            self.dirty_plans[plan] = (event, "quantity")

    def _security_event(self, event: SecurityEvent) -> None:
        issuance = self._lookup(event, event.security_id, "security_id")
        if issuance is None:
            return
        if issuance.kind is not event.kind:
            self._problem(
                event,
                "security_id",
                f"security {event.security_id!r} is a {issuance.kind} security, not {event.kind}",
            )
            return
        if event.action is Action.ACCEPTANCE:
            return
        live = self.live.get(event.security_id)
        if live is None:
            ended_by = self.ended.get(event.security_id)
            if ended_by is not None:
                self._problem(event, "security_id", f"security {event.security_id!r} was already ended by {ended_by!r}")
            return
        whole = event.action in (Action.RETRACTION, Action.REISSUANCE) or event.quantity is None
        quantity = live.quantity if whole else event.quantity
        assert quantity is not None
        if quantity <= 0 and not whole:
            self._problem(event, "quantity", f"quantity {quantity} must be positive")
            return
        if quantity > live.quantity:
            self._problem(
                event,
                "quantity",
                f"quantity {quantity} exceeds the {live.quantity} outstanding on security {event.security_id!r}",
            )
            return
        self._check_results(event, quantity, live.quantity - quantity)
        balance = live.quantity - quantity
        plan = issuance.stock_plan_id if issuance.kind is SecurityKind.EQUITY_COMPENSATION else None
        if balance > 0 and not event.balance_security_id:
            self._change(live, -quantity, event)  # the remainder stays on the same security
        else:
            self._end(live, event)
        if plan is not None:
            if event.action in (Action.EXERCISE, Action.RELEASE):
                self.plan_issued[plan] = self.plan_issued.get(plan, ZERO) + quantity
            elif event.action in (Action.CANCELLATION, Action.RETRACTION) and plan in self.retire:
                self.reserved[plan] -= quantity

    def _check_results(self, event: SecurityEvent, quantity: Decimal, balance: Decimal) -> None:
        if event.action in _NEEDS_RESULT and not event.resulting_security_ids:
            reason = f"{event.action.lower()} of {quantity} names no resulting security"
            if event.action in (Action.EXERCISE, Action.RELEASE, Action.CONVERSION):
                reason += "; the shares would vanish from the cap table"
            self._problem(event, "resulting_security_ids", reason)
        received = ZERO
        for security_id in event.resulting_security_ids:
            result = self.index.get(security_id)
            if result is None:
                self._problem(event, "resulting_security_ids", f"security {security_id!r} does not exist")
                return
            received += result.quantity or ZERO
        if event.action in _CONSERVES and event.resulting_security_ids and received != quantity:
            self._problem(
                event,
                "resulting_security_ids",
                f"resulting securities hold {received}, but {quantity} left security {event.security_id!r}",
            )
        if event.balance_security_id:
            result = self.index.get(event.balance_security_id)
            if result is None:
                self._problem(event, "balance_security_id", f"security {event.balance_security_id!r} does not exist")
            elif (result.quantity or ZERO) != balance:
                self._problem(
                    event,
                    "balance_security_id",
                    f"balance security {result.security_id!r} holds {result.quantity}, but {balance} remain",
                )

    def _consolidate(self, event: Consolidation) -> None:
        total = ZERO
        sources: list[_Live] = []
        for security_id in event.security_ids:
            if self._lookup(event, security_id, "security_ids") is None:
                return
            live = self.live.get(security_id)
            if live is None:
                self._problem(event, "security_ids", f"security {security_id!r} is not outstanding")
                return
            sources.append(live)
            total += live.quantity
        result = self.index.get(event.resulting_security_id)
        if result is None:
            self._problem(event, "resulting_security_id", f"security {event.resulting_security_id!r} does not exist")
        elif result.quantity != total:
            self._problem(
                event,
                "resulting_security_id",
                f"resulting security holds {result.quantity}, but {total} were consolidated",
            )
        for live in sources:
            self._end(live, event)

    def _split(self, event: StockClassSplit) -> None:
        if event.numerator <= 0 or event.denominator <= 0:
            self._problem(event, "split_ratio", "numerator and denominator must be positive")
            return
        factor = event.numerator / event.denominator
        for live in list(self.live.values()):
            issuance = live.issuance
            if issuance.kind is SecurityKind.STOCK and issuance.stock_class_id == event.stock_class_id:
                self._change(live, live.quantity * factor - live.quantity, event)
        self.dirty_classes[event.stock_class_id] = (event, "split_ratio")

    # ---- snapshot ----

    def state(self, as_of: date, rule: ConvertibleRule) -> CapTableState:
        pools = self._pools()
        pool_available = sum((max(p.available, ZERO) for p in pools.values()), ZERO)
        fd_of = self._fully_diluted_of(as_of, rule, pool_available)
        positions = tuple(
            Position(
                security_id=security_id,
                stakeholder_id=live.issuance.stakeholder_id,
                kind=live.issuance.kind,
                quantity=live.quantity,
                stock_class_id=live.issuance.stock_class_id,
                stock_plan_id=live.issuance.stock_plan_id,
                issued_on=live.issuance.date,
                fully_diluted=fd_of[security_id],
            )
            for security_id, live in self.live.items()
        )
        stock = [p for p in positions if p.kind is SecurityKind.STOCK]
        outstanding_by_class = _totals((p.stock_class_id or "", p.quantity) for p in stock)
        converted_by_class = _totals((p.stock_class_id or "", p.fully_diluted) for p in stock)
        converted_by_holder = _totals((p.stakeholder_id, p.fully_diluted) for p in stock)
        fd_by_holder = _totals((p.stakeholder_id, p.fully_diluted) for p in positions)
        converted_total = sum(converted_by_holder.values(), ZERO)
        fully_diluted = sum(fd_by_holder.values(), ZERO) + pool_available
        return CapTableState(
            as_of=as_of,
            convertible_rule=rule,
            positions=positions,
            outstanding_shares=sum(outstanding_by_class.values(), ZERO),
            outstanding_by_class=outstanding_by_class,
            fully_diluted_shares=fully_diluted,
            pools=pools,
            ownership_by_holder=_shares_of(converted_by_holder, converted_total),
            fully_diluted_by_holder=fd_by_holder,
            fully_diluted_ownership_by_holder=_shares_of(fd_by_holder, fully_diluted),
            ownership_by_class=_shares_of(converted_by_class, converted_total),
        )

    def _pools(self) -> dict[str, PoolStatus]:
        return {
            plan_id: PoolStatus(
                stock_plan_id=plan_id,
                reserved=reserved,
                granted=self.plan_granted.get(plan_id, ZERO),
                issued=self.plan_issued.get(plan_id, ZERO),
                available=reserved - self.plan_granted.get(plan_id, ZERO) - self.plan_issued.get(plan_id, ZERO),
            )
            for plan_id, reserved in self.reserved.items()
        }

    def _fully_diluted_of(self, as_of: date, rule: ConvertibleRule, pool_available: Decimal) -> dict[str, Decimal]:
        """Each live security's fully diluted shares: stock as converted, convertibles nothing unless at cap."""
        fd_of: dict[str, Decimal] = {}
        convertibles: list[_Live] = []
        for security_id, live in self.live.items():
            issuance = live.issuance
            if issuance.kind is SecurityKind.STOCK:
                fd_of[security_id] = live.quantity * self.ratio.get(issuance.stock_class_id or "", ONE)
            elif issuance.kind is SecurityKind.CONVERTIBLE:
                convertibles.append(live)
                fd_of[security_id] = ZERO
            else:
                fd_of[security_id] = live.quantity
        if rule is ConvertibleRule.AT_CAP:
            fd_of.update(_at_cap(convertibles, sum(fd_of.values(), ZERO) + pool_available, as_of))
        return fd_of


def _totals(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for key, value in pairs:
        out[key] = out.get(key, ZERO) + value
    return out


def _shares_of(parts: Mapping[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    if not total:
        return {key: ZERO for key in parts}
    return {key: value / total for key, value in parts.items()}


def _at_cap(convertibles: list[_Live], base: Decimal, as_of: date) -> dict[str, Decimal]:
    shares: dict[str, Decimal] = {}
    post_money: list[_Live] = []
    for live in convertibles:
        terms = live.issuance.terms
        if terms is None or not terms.valuation_cap:
            shares[live.issuance.security_id] = ZERO
        elif terms.post_money and live.issuance.convertible_type is ConvertibleType.SAFE:
            post_money.append(live)
        else:
            amount = live.quantity
            if terms.interest_rate:
                amount += conversion.accrued_interest(amount, terms.interest_rate, live.issuance.date, as_of)
            shares[live.issuance.security_id] = conversion.whole_shares(amount * base / terms.valuation_cap)
    if post_money:
        capitalization = base + sum(shares.values(), ZERO)
        pairs = [(live.quantity, live.issuance.terms.valuation_cap) for live in post_money]  # type: ignore[union-attr]
        try:
            converted = conversion.post_money_safe_shares(pairs, capitalization)  # type: ignore[arg-type]
        except ValueError:
            converted = [ZERO] * len(post_money)  # caps below the money raised: no meaningful count
        for live, count in zip(post_money, converted, strict=True):
            shares[live.issuance.security_id] = count
    return shares
