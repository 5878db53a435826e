"""The exit waterfall: what each holder receives when the company is sold for ``exit_value``.

Claimants, from the cap table replayed as of the exit date:

- **Stock classes.** ``COMMON`` classes (and preferred classes without a preference) share the residual by
  as-converted shares. A preferred class claims ``multiple x original issue price x shares``, the issue price
  being the class's ``price_per_share`` or, without one, each security's own issue price. OCF has no
  participation flag: a class with a ``participation_cap_multiple`` participates until it has received that
  multiple of its issue price in all (preference included; a cap below the preference multiple caps nothing
  beyond the preference); a class without one is non-participating. ``Assumptions.participation`` overrides
  this per class (e.g. uncapped participation).
- **Convertibles** (SAFE, note, J-KISS) not converted before the exit: each either takes its cash-out amount
  (purchase amount, for notes principal plus simple interest to the exit date, times
  ``cash_out_multiple``) or converts into common at its valuation cap, whichever pays more (the YC safe's
  liquidity-event terms; ``Assumptions.convertibles`` forces either). At the cap a post-money safe owns
  ``amount / cap`` of the liquidity capitalization including every converting security; a pre-money
  instrument gets ``amount x capitalization / cap`` shares, the capitalization being outstanding stock as
  converted plus outstanding options and warrants (the unallocated pool is excluded). Uncapped convertibles
  can only cash out. Notes are debt, senior to every stock class; the other convertibles rank with the most
  junior preferred class (the YC safe: "on par with … Preferred Stock").
- **Options, RSUs and warrants** are exercised when in the money, cash-settled and treasury-free: the holder
  receives ``shares x (common price - strike)``; the strikes they would have paid stay in the residual, so the
  payouts still sum to the exit value. Without an exercise price the strike is 0. Unvested awards count
  unless ``Assumptions.unvested_awards`` is False (then only the vested quantity, at most what is
  outstanding). Awards and warrants are treated as common-equivalent shares.

Method. Preference claims are paid by seniority (OCF: the higher number is paid first), pari passu within a
level pro rata to the claims. The residual is shared at one price per common-equivalent share ``P``: capped
participation and out-of-the-money awards make the total distributed a continuous, piecewise-linear,
non-decreasing function of ``P``, solved exactly by walking its breakpoints. The conversion decisions
(non-participating and capped classes, convertibles that may choose) are a fixed point of best responses:
units are tried in increasing order of claim per as-converted share, each converting iff that strictly
pays it more given the others' current decisions, repeated until a whole pass changes nothing (``stable``).
Converting a unit lowers ``P`` only towards its own claim per share, so units with lower claims stay
converted and the passes settle quickly.

Everything is computed at 60 significant digits; amounts are rounded to the currency's minor unit only at the
end, per (holder, class or instrument) line: every line rounded down, the remaining minor units given one
each to the lines with the largest dropped fractions (ties: holder id, then class or security id), so the
lines sum to the exit value exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal, localcontext
from enum import StrEnum

from captable import conversion
from captable.errors import ScenarioError
from captable.events import ConvertibleType, Issuance, SecurityKind
from captable.ledger import Ledger
from captable.replay import ConvertibleRule, Position, replay
from captable.vesting import vesting_status

ZERO = Decimal(0)
ONE = Decimal(1)
PRECISION = 60
_DEBT_TIER = 2
_STOCK_TIER = 1


class ConvertibleTreatment(StrEnum):
    GREATER_OF = "GREATER_OF"  # cash-out amount or conversion at the cap, whichever pays more
    CONVERT = "CONVERT"
    CASH_OUT = "CASH_OUT"


class Decision(StrEnum):
    COMMON = "COMMON"  # common stock, or preferred stock without a preference
    PREFERENCE = "PREFERENCE"  # took its liquidation preference (non-participating)
    PARTICIPATES = "PARTICIPATES"  # preference, then its share of the residual (up to a cap)
    CONVERTS = "CONVERTS"  # gave up its preference (or cash-out amount) for common
    CASH_OUT = "CASH_OUT"  # a convertible took its cash-out amount
    EXERCISES = "EXERCISES"
    LAPSES = "LAPSES"  # an option or warrant out of the money


@dataclass(frozen=True, slots=True)
class ClassTerms:
    participating: bool
    cap_multiple: Decimal | None = None  # total return cap as a multiple of the issue price; None: uncapped


@dataclass(frozen=True, slots=True)
class Assumptions:
    convertibles: ConvertibleTreatment = ConvertibleTreatment.GREATER_OF
    cash_out_multiple: Decimal = ONE
    unvested_awards: bool = True
    participation: Mapping[str, ClassTerms] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """One holder's payout from one class (stock) or one security (convertible, option, warrant)."""

    stakeholder_id: str
    source_id: str
    kind: SecurityKind
    shares: Decimal  # as-converted shares it shares the residual with (0 when it took only a claim)
    preference: Decimal  # exact amount received from the preference or cash-out claim
    participation: Decimal  # exact amount received from the residual (net of the strike for awards)
    amount: Decimal  # rounded to the minor unit


@dataclass(frozen=True, slots=True)
class ClassPayout:
    source_id: str  # stock class id, or security id for convertibles and awards
    kind: SecurityKind
    decision: Decision
    capped: bool
    shares: Decimal  # as-converted shares (conversion shares for convertibles, quantity for awards)
    claim: Decimal  # preference or cash-out amount claimed (0 for common, converted and awards)
    strike: Decimal | None  # exercise price per share of an award
    received: Decimal  # exact
    alternative: Decimal | None  # exact amount under the other choice, the others' decisions unchanged
    amount: Decimal  # sum of its rounded lines


@dataclass(frozen=True, slots=True)
class Waterfall:
    exit_value: Decimal
    as_of: date
    common_price: Decimal  # what one common-equivalent share receives from the residual (exact)
    classes: tuple[ClassPayout, ...]
    lines: tuple[Line, ...]
    unallocated: Decimal  # rounded; non-zero only when nobody can take the residual (no common-type shares)
    stable: bool  # the conversion decisions are a fixed point (no unit would rather switch)
    passes: int

    def by_holder(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            totals[line.stakeholder_id] = totals.get(line.stakeholder_id, ZERO) + line.amount
        return totals


# ---- claimants -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Holding:
    stakeholder_id: str
    shares: Decimal  # as-converted
    claim: Decimal
    cap: Decimal | None  # total-return cap (claim included)


@dataclass(frozen=True, slots=True)
class _Unit:
    id: str
    kind: SecurityKind
    holdings: tuple[_Holding, ...]
    shares: Decimal
    claim: Decimal
    level: tuple[int, Decimal]
    participating: bool
    cap: Decimal | None
    strike: Decimal | None = None  # awards only
    choice: bool = False  # may convert (else fixed by its terms)
    forced_convert: bool = False


def _unit(
    unit_id: str,
    kind: SecurityKind,
    holdings: list[_Holding],
    level: tuple[int, Decimal],
    participating: bool,
    **extra: object,
) -> _Unit:
    caps = [h.cap for h in holdings]
    cap = None if any(c is None for c in caps) else sum((c for c in caps if c is not None), ZERO)
    return _Unit(
        id=unit_id,
        kind=kind,
        holdings=tuple(holdings),
        shares=sum((h.shares for h in holdings), ZERO),
        claim=sum((h.claim for h in holdings), ZERO),
        level=level,
        participating=participating,
        cap=cap if participating else None,
        **extra,  # type: ignore[arg-type]
    )


def _terms(ledger: Ledger, class_id: str, assumptions: Assumptions) -> ClassTerms:
    if class_id in assumptions.participation:
        return assumptions.participation[class_id]
    cap = ledger.stock_class_by_id[class_id].participation_cap_multiple
    return ClassTerms(participating=cap is not None, cap_multiple=cap)


def _class_units(ledger: Ledger, stock: list[Position], assumptions: Assumptions) -> list[_Unit]:
    by_class: dict[str, dict[str, list[Position]]] = {}
    for p in stock:
        by_class.setdefault(p.stock_class_id or "", {}).setdefault(p.stakeholder_id, []).append(p)
    units = []
    index = ledger.issuance_by_security_id
    for class_id in sorted(by_class):
        stock_class = ledger.stock_class_by_id.get(class_id)
        multiple = stock_class.liquidation_preference_multiple if stock_class else None
        preferred = stock_class is not None and stock_class.class_type != "COMMON" and bool(multiple)
        terms = _terms(ledger, class_id, assumptions) if preferred else ClassTerms(participating=True)
        holdings = []
        for holder in sorted(by_class[class_id]):
            shares = claim = cap_total = ZERO
            for p in by_class[class_id][holder]:
                shares += p.fully_diluted
                if preferred:
                    price = _issue_price(stock_class.price_per_share, index.get(p.security_id))  # type: ignore[union-attr]
                    claim += multiple * price * p.quantity  # type: ignore[operator]
                    if terms.cap_multiple is not None:
                        cap_total += max(terms.cap_multiple, multiple) * price * p.quantity  # type: ignore[type-var,operator]
            cap = cap_total if preferred and terms.participating and terms.cap_multiple is not None else None
            holdings.append(_Holding(holder, shares, claim, cap))
        seniority = stock_class.seniority if stock_class else ZERO
        units.append(
            _unit(
                class_id,
                SecurityKind.STOCK,
                holdings,
                (_STOCK_TIER, seniority),
                participating=terms.participating,
                choice=preferred,
            )
        )
    return units


def _issue_price(class_price: object, issuance: Issuance | None) -> Decimal:
    amount = getattr(class_price, "amount", None)
    if amount is not None:
        return amount  # type: ignore[no-any-return]
    if issuance is not None and issuance.price is not None:
        return issuance.price.amount
    return ZERO


def _award_units(ledger: Ledger, awards: list[Position], as_of: date, assumptions: Assumptions) -> list[_Unit]:
    units = []
    index = ledger.issuance_by_security_id
    for p in sorted(awards, key=lambda p: p.security_id):
        quantity = p.quantity
        if p.kind is SecurityKind.EQUITY_COMPENSATION and not assumptions.unvested_awards:
            quantity = min(quantity, vesting_status(ledger, p.security_id, as_of).vested)
        if quantity <= 0:
            continue
        issuance = index.get(p.security_id)
        strike = issuance.price.amount if issuance is not None and issuance.price is not None else ZERO
        if issuance is not None and issuance.compensation_type == "RSU":
            strike = ZERO
        holding = _Holding(p.stakeholder_id, quantity, ZERO, None)
        units.append(_unit(p.security_id, p.kind, [holding], (0, ZERO), participating=True, strike=strike))
    return units


def _convertible_units(
    ledger: Ledger,
    convertibles: list[Position],
    capitalization: Decimal,
    junior_preferred: Decimal,
    as_of: date,
    assumptions: Assumptions,
) -> list[_Unit]:
    index = ledger.issuance_by_security_id
    amounts: dict[str, Decimal] = {}
    caps: dict[str, Decimal | None] = {}
    post_money: list[str] = []
    shares: dict[str, Decimal] = {}
    for p in convertibles:
        issuance = index[p.security_id]
        terms = issuance.terms
        amount = p.quantity
        if terms is not None and terms.interest_rate:
            amount += conversion.accrued_interest(amount, terms.interest_rate, issuance.date, as_of)
        amounts[p.security_id] = amount
        caps[p.security_id] = terms.valuation_cap if terms is not None and terms.valuation_cap else None
        if caps[p.security_id] is None:
            continue
        if terms is not None and terms.post_money and issuance.convertible_type is ConvertibleType.SAFE:
            post_money.append(p.security_id)
        else:
            shares[p.security_id] = conversion.whole_shares(amount * capitalization / caps[p.security_id])  # type: ignore[operator]
    if post_money:
        pairs = [(amounts[s], caps[s]) for s in post_money]
        try:
            counts = conversion.post_money_safe_shares(pairs, capitalization + sum(shares.values(), ZERO))  # type: ignore[arg-type]
        except ValueError:
            counts = [ZERO] * len(post_money)  # caps at or below the money raised: cannot convert
        shares.update(zip(post_money, counts, strict=True))
    units = []
    for p in sorted(convertibles, key=lambda p: p.security_id):
        issuance = index[p.security_id]
        converts_to = shares.get(p.security_id, ZERO)
        cash_out = amounts[p.security_id] * assumptions.cash_out_multiple
        treatment = assumptions.convertibles if converts_to > 0 else ConvertibleTreatment.CASH_OUT
        level = (
            (_DEBT_TIER, ZERO) if issuance.convertible_type is ConvertibleType.NOTE else (_STOCK_TIER, junior_preferred)
        )
        holding = _Holding(p.stakeholder_id, converts_to, cash_out, None)
        units.append(
            _unit(
                p.security_id,
                SecurityKind.CONVERTIBLE,
                [holding],
                level,
                participating=False,
                choice=treatment is ConvertibleTreatment.GREATER_OF,
                forced_convert=treatment is ConvertibleTreatment.CONVERT,
            )
        )
    return units


# ---- distribution for given decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outcome:
    price: Decimal
    preference: dict[str, Decimal]  # unit id → paid from its claim
    participation: dict[str, Decimal]  # unit id → paid from the residual
    capped: frozenset[str]
    leftover: Decimal
    exit_value: Decimal

    def total(self, unit_id: str) -> Decimal:
        return self.preference.get(unit_id, ZERO) + self.participation.get(unit_id, ZERO)


def _distribute(units: list[_Unit], converted: frozenset[str], exit_value: Decimal) -> _Outcome:
    claiming = [u for u in units if u.claim > 0 and u.strike is None and u.id not in converted]
    paid: dict[str, Decimal] = {}
    remaining = exit_value
    for level in sorted({u.level for u in claiming}, reverse=True):
        members = [u for u in claiming if u.level == level]
        total = sum((u.claim for u in members), ZERO)
        if remaining >= total:
            paid.update((u.id, u.claim) for u in members)
            remaining -= total
        else:
            paid.update((u.id, u.claim * remaining / total) for u in members)
            remaining = ZERO
    # the residual: slope of the total distributed at common price P, with breakpoints where it changes
    slope = ZERO
    changes: list[tuple[Decimal, Decimal]] = []  # (P, slope change)
    rooms: dict[str, Decimal] = {}
    sharing: list[_Unit] = []
    for u in units:
        if u.shares <= 0:
            continue
        if u.strike is not None:
            sharing.append(u)
            if u.strike > 0:
                changes.append((u.strike, u.shares))
            else:
                slope += u.shares
        elif u.id in converted or u.claim == 0 or u.participating:
            sharing.append(u)
            slope += u.shares
            if u.cap is not None and u.id not in converted:
                room = max(u.cap - paid.get(u.id, ZERO), ZERO)
                rooms[u.id] = room
                changes.append((room / u.shares, -u.shares))
    price, distributed = _solve(remaining, slope, sorted(changes))
    participation: dict[str, Decimal] = {}
    capped = set()
    for u in sharing:
        if u.strike is not None:
            participation[u.id] = u.shares * (price - u.strike) if price > u.strike else ZERO
        elif u.id in rooms and u.shares * price >= rooms[u.id]:
            participation[u.id] = rooms[u.id]
            capped.add(u.id)
        else:
            participation[u.id] = u.shares * price
    return _Outcome(price, paid, participation, frozenset(capped), remaining - distributed, exit_value)


def _solve(residual: Decimal, slope: Decimal, changes: list[tuple[Decimal, Decimal]]) -> tuple[Decimal, Decimal]:
    """The lowest P at which the distributed total reaches ``residual`` (or the most it can reach)."""
    at, total = ZERO, ZERO
    for point, delta in changes:
        if total >= residual:
            return at, total
        reach = total + slope * (point - at)
        if slope > 0 and reach >= residual:
            return at + (residual - total) / slope, residual
        at, total = point, reach
        slope += delta
    if total >= residual:
        return at, total
    if slope > 0:
        return at + (residual - total) / slope, residual
    return at, total


# ---- decisions, rounding ---------------------------------------------------------------------------------


def _collapse(units: list[_Unit]) -> list[_Unit]:
    """The same claimants with awards of one strike merged: decisions depend on their total only."""
    kept = [u for u in units if u.strike is None]
    by_strike: dict[Decimal, Decimal] = {}
    for u in units:
        if u.strike is not None:
            by_strike[u.strike] = by_strike.get(u.strike, ZERO) + u.shares
    for n, (strike, shares) in enumerate(sorted(by_strike.items())):
        kept.append(
            _Unit(
                f"\0awards{n}", SecurityKind.EQUITY_COMPENSATION, (), shares, ZERO, (0, ZERO), True, None, strike=strike
            )
        )
    return kept


def _decide(units: list[_Unit], exit_value: Decimal) -> tuple[frozenset[str], bool, int]:
    units = _collapse(units)
    converted = frozenset(u.id for u in units if u.forced_convert)
    choosers = sorted(
        (u for u in units if u.choice and u.shares > 0),
        key=lambda u: (u.claim / u.shares, u.id),
    )
    limit = 2 * len(choosers) + 2
    for passes in range(1, limit + 1):
        changed = False
        for u in choosers:
            keep = _distribute(units, converted - {u.id}, exit_value).total(u.id)
            switch = _distribute(units, converted | {u.id}, exit_value).total(u.id)
            wanted = switch > keep
            if wanted != (u.id in converted):
                converted = converted | {u.id} if wanted else converted - {u.id}
                changed = True
        if not changed:
            return converted, True, passes
    return converted, False, limit


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    whole = sum(weights, ZERO)
    if not whole:
        return [ZERO] * len(weights)
    return [total * w / whole for w in weights]


def _round(exact: list[Decimal], exit_value: Decimal, minor_digits: int) -> list[Decimal]:
    unit = ONE.scaleb(-minor_digits)
    floors = [max(e, ZERO).quantize(unit, rounding=ROUND_DOWN) for e in exact]
    missing = int(((exit_value - sum(floors, ZERO)) / unit).to_integral_value())
    order = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    rounded = list(floors)
    if order:
        for n in range(max(missing, 0)):
            rounded[order[n % len(order)]] += unit
    return rounded


def exit_waterfall(
    ledger: Ledger,
    exit_value: Decimal,
    as_of: date,
    assumptions: Assumptions | None = None,
    minor_digits: int = 2,
) -> Waterfall:
    """Distribute ``exit_value`` (not negative, in whole minor units) over the cap table as of ``as_of``."""
    assumptions = assumptions or Assumptions()
    unit_size = ONE.scaleb(-minor_digits)
    if exit_value < 0:
        raise ScenarioError("exit_value", f"{exit_value} must not be negative")
    if exit_value != exit_value.quantize(unit_size, rounding=ROUND_DOWN):
        raise ScenarioError("exit_value", f"{exit_value} has more than {minor_digits} decimal places")
    if assumptions.cash_out_multiple < 0:
        raise ScenarioError("cash_out_multiple", f"{assumptions.cash_out_multiple} must not be negative")
    with localcontext() as context:
        context.prec = PRECISION
        return _waterfall(ledger, exit_value, as_of, assumptions, minor_digits)


def _waterfall(
    ledger: Ledger, exit_value: Decimal, as_of: date, assumptions: Assumptions, minor_digits: int
) -> Waterfall:
    state = replay(ledger, as_of, ConvertibleRule.EXCLUDE)
    stock = [p for p in state.positions if p.kind is SecurityKind.STOCK]
    awards = [p for p in state.positions if p.kind in (SecurityKind.EQUITY_COMPENSATION, SecurityKind.WARRANT)]
    convertibles = [p for p in state.positions if p.kind is SecurityKind.CONVERTIBLE]
    units = _class_units(ledger, stock, assumptions)
    units += _award_units(ledger, awards, as_of, assumptions)
    preferred_levels = [u.level[1] for u in units if u.choice and u.kind is SecurityKind.STOCK]
    capitalization = sum((u.shares for u in units), ZERO)
    units += _convertible_units(
        ledger, convertibles, capitalization, min(preferred_levels, default=ZERO), as_of, assumptions
    )
    converted, stable, passes = _decide(units, exit_value)
    outcome = _distribute(units, converted, exit_value)

    drafts: list[Line] = []
    for u in units:
        prefs = _split(outcome.preference.get(u.id, ZERO), [h.claim for h in u.holdings])
        if u.id in outcome.capped:
            # a capped class's holders end at their caps: split what the residual gave by room left
            parts = _split(
                outcome.participation.get(u.id, ZERO),
                [(h.cap or ZERO) - p for h, p in zip(u.holdings, prefs, strict=True)],
            )
        else:
            parts = _split(outcome.participation.get(u.id, ZERO), [h.shares for h in u.holdings])
        sharing = u.id in converted or u.strike is not None or u.claim == 0 or u.participating
        for h, pref, part in zip(u.holdings, prefs, parts, strict=True):
            drafts.append(Line(h.stakeholder_id, u.id, u.kind, h.shares if sharing else ZERO, pref, part, ZERO))
    drafts.sort(key=lambda line: (line.stakeholder_id, line.source_id))
    exact = [line.preference + line.participation for line in drafts] + [outcome.leftover]
    rounded = _round(exact, exit_value, minor_digits)
    lines = tuple(replace(line, amount=amount) for line, amount in zip(drafts, rounded, strict=False))
    return Waterfall(
        exit_value=exit_value,
        as_of=as_of,
        common_price=+outcome.price,
        classes=tuple(_class_payout(u, units, converted, outcome, lines) for u in units),
        lines=lines,
        unallocated=rounded[-1],
        stable=stable,
        passes=passes,
    )


def _class_payout(
    u: _Unit, units: list[_Unit], converted: frozenset[str], outcome: _Outcome, lines: Iterable[Line]
) -> ClassPayout:
    alternative = None
    if u.choice and u.shares > 0:
        alternative = _distribute(_collapse(units), converted ^ {u.id}, outcome.exit_value).total(u.id)
    if u.strike is not None:
        decision = Decision.EXERCISES if outcome.price > u.strike else Decision.LAPSES
    elif u.id in converted:
        decision = Decision.CONVERTS
    elif u.kind is SecurityKind.CONVERTIBLE:
        decision = Decision.CASH_OUT
    elif u.claim == 0:
        decision = Decision.COMMON
    else:
        decision = Decision.PARTICIPATES if u.participating else Decision.PREFERENCE
    return ClassPayout(
        source_id=u.id,
        kind=u.kind,
        decision=decision,
        capped=u.id in outcome.capped,
        shares=u.shares,
        claim=u.claim if u.strike is None else ZERO,
        strike=u.strike,
        received=outcome.total(u.id),
        alternative=alternative,
        amount=sum((line.amount for line in lines if line.source_id == u.id and line.kind is u.kind), ZERO),
    )
