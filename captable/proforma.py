"""Pro-forma round: what a new priced round does to the cap table, computed, never written.

Given the new money and either the pre-money valuation or the price per share:

- **Conversions** at the round (the YC safe and J-KISS terms, through :mod:`captable.conversion`): a
  post-money safe converts at the lower of its cap price and its discounted round price, its cap owning
  ``amount / cap`` of the capitalization including every converting security; a pre-money safe, a J-KISS, a
  note (principal plus simple interest to the round date) and any other convertible converts at the lower of
  the discounted round price and ``cap / capitalization``; without a cap or a discount at the round price.
  The capitalization the caps apply to is the fully diluted count before the round (stock as converted,
  options, warrants, the existing unallocated pool) without the pool top-up: the YC post-money safe counts an
  increase of the pool only beyond the promised options, and the new investors bear it.
- **Pool top-up**: a number of new pool shares, or a target unallocated pool as a fraction of the pre-money
  or of the post-money fully diluted count (the "option pool shuffle": either way the new pool is in the
  pre-money count, so it dilutes the existing holders, not the new investor). Rounded up to whole shares.
- **Price** = pre-money / pre-money fully diluted shares (existing + conversions + new pool), or the given
  price (then the pre-money is implied). New investor shares = new money / price, rounded down.

Conversions at a discount depend on the price, the price on the conversions and the pool on the investor's
shares: the figures are iterated to a fixed point in whole shares (a few rounds; refused if it does not settle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal, localcontext
from enum import StrEnum

from captable import conversion
from captable.errors import ScenarioError
from captable.events import ConvertibleType, Issuance, SecurityKind
from captable.ledger import Ledger
from captable.replay import ConvertibleRule, Position, replay

ZERO = Decimal(0)
ONE = Decimal(1)
PRECISION = 60
MAX_ITERATIONS = 200
POOL = "UNALLOCATED_POOL"


class PoolBasis(StrEnum):
    PRE_MONEY = "PRE_MONEY"
    POST_MONEY = "POST_MONEY"


@dataclass(frozen=True, slots=True)
class PoolTopUp:
    target: Decimal | None = None  # unallocated pool after the round, as a fraction of `basis`
    basis: PoolBasis = PoolBasis.POST_MONEY
    shares: Decimal | None = None  # or an explicit number of new pool shares


@dataclass(frozen=True, slots=True)
class RoundTerms:
    new_money: Decimal
    pre_money: Decimal | None = None
    price_per_share: Decimal | None = None
    pool_top_up: PoolTopUp | None = None
    stock_class_id: str = "NEW_ROUND"
    investor_id: str = "NEW_INVESTORS"


@dataclass(frozen=True, slots=True)
class Converted:
    security_id: str
    stakeholder_id: str
    convertible_type: str | None
    amount: Decimal  # purchase amount, with interest for notes
    price: Decimal
    shares: Decimal
    capped: bool  # the valuation cap, not the discount or the round price, set the price


@dataclass(frozen=True, slots=True)
class Row:
    stakeholder_id: str | None  # None for the unallocated pool
    source_id: str  # stock class, plan or security the shares come from; the round's class for new shares
    kind: str  # STOCK | EQUITY_COMPENSATION | WARRANT | CONVERSION | NEW_MONEY | POOL
    shares: Decimal
    ownership: Decimal  # of the post-money fully diluted count


@dataclass(frozen=True, slots=True)
class ProForma:
    as_of: date
    price_per_share: Decimal
    pre_money: Decimal
    post_money: Decimal
    new_money: Decimal
    investor_shares: Decimal
    new_pool_shares: Decimal
    fully_diluted_before: Decimal
    pre_money_fully_diluted: Decimal
    post_money_fully_diluted: Decimal
    conversions: tuple[Converted, ...]
    rows: tuple[Row, ...]
    iterations: int


def _check(terms: RoundTerms) -> None:
    if terms.new_money <= 0:
        raise ScenarioError("new_money", f"{terms.new_money} must be greater than 0")
    if (terms.pre_money is None) == (terms.price_per_share is None):
        raise ScenarioError("pre_money", "give either the pre-money valuation or the price per share")
    if terms.pre_money is not None and terms.pre_money <= 0:
        raise ScenarioError("pre_money", f"{terms.pre_money} must be greater than 0")
    if terms.price_per_share is not None and terms.price_per_share <= 0:
        raise ScenarioError("price_per_share", f"{terms.price_per_share} must be greater than 0")
    pool = terms.pool_top_up
    if pool is not None:
        if (pool.target is None) == (pool.shares is None):
            raise ScenarioError("pool_top_up", "give either a target fraction or a number of shares")
        if pool.target is not None and not ZERO <= pool.target < ONE:
            raise ScenarioError("pool_top_up.target", f"{pool.target} is a fraction from 0 to 1 (exclusive)")
        if pool.shares is not None and (pool.shares < 0 or pool.shares != pool.shares.to_integral_value()):
            raise ScenarioError("pool_top_up.shares", f"{pool.shares} must be a whole number, not negative")


def pro_forma_round(ledger: Ledger, as_of: date, terms: RoundTerms) -> ProForma:
    _check(terms)
    with localcontext() as context:
        context.prec = PRECISION
        return _pro_forma(ledger, as_of, terms)


def _pro_forma(ledger: Ledger, as_of: date, terms: RoundTerms) -> ProForma:
    state = replay(ledger, as_of, ConvertibleRule.EXCLUDE)
    existing = state.fully_diluted_shares
    available = sum((max(p.available, ZERO) for p in state.pools.values()), ZERO)
    convertibles = sorted(
        (p for p in state.positions if p.kind is SecurityKind.CONVERTIBLE), key=lambda p: p.security_id
    )
    new_pool = ZERO
    converted: tuple[Converted, ...] = ()
    for iteration in range(1, MAX_ITERATIONS + 1):  # noqa: B007 (reported as `iterations`)
        conversion_shares = sum((c.shares for c in converted), ZERO)
        pre_fd = existing + conversion_shares + new_pool
        price = terms.price_per_share if terms.price_per_share is not None else terms.pre_money / pre_fd  # type: ignore[operator]
        investor = _whole(terms.new_money / price)
        next_converted = _conversions(ledger, convertibles, existing, price, as_of, converted)
        base = existing + sum((c.shares for c in next_converted), ZERO)
        next_pool = _pool(terms.pool_top_up, base, investor, available)
        if next_converted == converted and next_pool == new_pool:
            break
        converted, new_pool = next_converted, next_pool
    else:
        raise ScenarioError("pre_money", "the conversions and the pool top-up do not settle at one price")
    post_fd = pre_fd + investor
    rows = _rows(state.positions, converted, terms, investor, available + new_pool, post_fd)
    return ProForma(
        as_of=as_of,
        price_per_share=+price,
        pre_money=+(price * pre_fd) if terms.pre_money is None else terms.pre_money,
        post_money=+(price * pre_fd + terms.new_money),
        new_money=terms.new_money,
        investor_shares=investor,
        new_pool_shares=new_pool,
        fully_diluted_before=existing,
        pre_money_fully_diluted=pre_fd,
        post_money_fully_diluted=post_fd,
        conversions=converted,
        rows=rows,
        iterations=iteration,
    )


def _whole(quantity: Decimal) -> Decimal:
    return conversion.whole_shares(quantity).quantize(ONE)


def _pool(top_up: PoolTopUp | None, base: Decimal, investor: Decimal, available: Decimal) -> Decimal:
    if top_up is None:
        return ZERO
    if top_up.shares is not None:
        return top_up.shares
    t = top_up.target or ZERO
    counted = base + investor if top_up.basis is PoolBasis.POST_MONEY else base
    # (available + new) = t x (counted + new), solved for new
    needed = (t * counted - available) / (ONE - t)
    return max(needed, ZERO).to_integral_value(rounding=ROUND_CEILING).quantize(ONE)


def _conversions(
    ledger: Ledger,
    convertibles: list[Position],
    capitalization: Decimal,
    price: Decimal,
    as_of: date,
    previous: tuple[Converted, ...],
) -> tuple[Converted, ...]:
    index = ledger.issuance_by_security_id
    before = {c.security_id: c for c in previous}
    fixed: dict[str, Converted] = {}
    at_cap: list[tuple[Position, Decimal, Decimal, Decimal]] = []  # (position, amount, cap, discounted price)
    for p in convertibles:
        issuance = index[p.security_id]
        t = issuance.terms
        amount = p.quantity
        if t is not None and t.interest_rate:
            amount += conversion.accrued_interest(amount, t.interest_rate, issuance.date, as_of)
        kind = issuance.convertible_type.value if issuance.convertible_type else None
        discount = t.discount if t is not None else None
        cap = t.valuation_cap if t is not None else None
        post_money = t is not None and t.post_money and issuance.convertible_type is ConvertibleType.SAFE
        if post_money and cap:
            discounted = price * (ONE - (discount or ZERO))
            at_cap.append((p, amount, cap, discounted))
            continue
        result = conversion.convert(amount, price, discount, cap, capitalization)
        fixed[p.security_id] = Converted(
            p.security_id, p.stakeholder_id, kind, amount, result.price, _whole(result.shares), result.capped
        )
    # a post-money safe takes the cap unless its discount gives more shares (decided on the previous pass)
    capped = [e for e in at_cap if e[0].security_id not in before or before[e[0].security_id].capped]
    capped_ids = {e[0].security_id for e in capped}
    for p, amount, _, discounted in at_cap:
        if p.security_id not in capped_ids:
            fixed[p.security_id] = _at_price(p, index[p.security_id], amount, discounted)
    if capped:
        others = capitalization + sum((c.shares for c in fixed.values()), ZERO)
        try:
            counts = [_whole(n) for n in conversion.post_money_safe_shares([(a, c) for _, a, c, _ in capped], others)]
        except ValueError:
            raise ScenarioError(
                "pre_money", "the post-money safes' purchase amounts reach their caps: they would own 100 %"
            ) from None
        for (p, amount, _, discounted), shares in zip(capped, counts, strict=True):
            by_discount = _whole(amount / discounted)
            if by_discount > shares:
                fixed[p.security_id] = _at_price(p, index[p.security_id], amount, discounted)
            else:
                kind = index[p.security_id].convertible_type
                cap_price = amount / shares if shares else discounted
                fixed[p.security_id] = Converted(
                    p.security_id, p.stakeholder_id, kind.value if kind else None, amount, cap_price, shares, True
                )
    return tuple(fixed[p.security_id] for p in convertibles)


def _at_price(p: Position, issuance: Issuance, amount: Decimal, price: Decimal) -> Converted:
    kind = issuance.convertible_type
    return Converted(
        p.security_id,
        p.stakeholder_id,
        kind.value if kind else None,
        amount,
        price,
        _whole(amount / price),
        False,
    )


def _rows(
    positions: tuple[Position, ...],
    converted: tuple[Converted, ...],
    terms: RoundTerms,
    investor: Decimal,
    pool: Decimal,
    post_fd: Decimal,
) -> tuple[Row, ...]:
    held: dict[tuple[str, str, str], Decimal] = {}
    for p in positions:
        if p.kind is SecurityKind.CONVERTIBLE or not p.fully_diluted:
            continue
        source = p.stock_class_id if p.kind is SecurityKind.STOCK else (p.stock_plan_id or p.security_id)
        key = (p.stakeholder_id, source or "", p.kind.value)
        held[key] = held.get(key, ZERO) + p.fully_diluted
    for c in converted:
        key = (c.stakeholder_id, terms.stock_class_id, "CONVERSION")
        held[key] = held.get(key, ZERO) + c.shares
    if investor:
        held[(terms.investor_id, terms.stock_class_id, "NEW_MONEY")] = investor
    rows = [Row(h, s, k, n, n / post_fd) for (h, s, k), n in sorted(held.items())]
    if pool:
        rows.append(Row(None, POOL, "POOL", pool, pool / post_fd))
    return tuple(rows)
