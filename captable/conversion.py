"""Conversion math for convertibles (SAFE, note, J-KISS) and priced rounds with a pool top-up.

Prices are exact ``Decimal`` quotients; share counts are rounded *down* to whole shares, as the YC safe
and the J-KISS do (no fractional shares are issued; the investor never receives more than paid for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True, slots=True)
class Conversion:
    price: Decimal
    shares: Decimal
    capped: bool  # True when the valuation cap, not the discount, set the price


@dataclass(frozen=True, slots=True)
class PricedRound:
    price_per_share: Decimal
    new_pool_shares: Decimal
    investor_shares: Decimal
    pre_money_fully_diluted: Decimal
    post_money_fully_diluted: Decimal


def whole_shares(quantity: Decimal) -> Decimal:
    return quantity.to_integral_value(rounding=ROUND_DOWN)


def accrued_interest(principal: Decimal, annual_rate: Decimal, start: date, end: date) -> Decimal:
    """Simple interest, actual/365 (the J-KISS and most notes' default)."""
    days = max((end - start).days, 0)
    return principal * annual_rate * Decimal(days) / DAYS_PER_YEAR


def conversion_price(
    round_price: Decimal,
    discount: Decimal | None = None,
    valuation_cap: Decimal | None = None,
    fully_diluted_shares: Decimal | None = None,
) -> tuple[Decimal, bool]:
    """The lower of the discounted round price and the cap price (cap / pre-money fully diluted shares)."""
    discounted = round_price * (ONE - (discount or ZERO))
    if valuation_cap is not None and fully_diluted_shares:
        cap_price = valuation_cap / fully_diluted_shares
        if cap_price < discounted:
            return cap_price, True
    return discounted, False


def convert(
    amount: Decimal,
    round_price: Decimal,
    discount: Decimal | None = None,
    valuation_cap: Decimal | None = None,
    fully_diluted_shares: Decimal | None = None,
) -> Conversion:
    """Pre-money style conversion (pre-money SAFE, note principal + interest, J-KISS)."""
    price, capped = conversion_price(round_price, discount, valuation_cap, fully_diluted_shares)
    return Conversion(price=price, shares=whole_shares(amount / price), capped=capped)


def post_money_safe_shares(safes: Sequence[tuple[Decimal, Decimal]], capitalization_before: Decimal) -> list[Decimal]:
    """Shares of each post-money safe ``(purchase amount, post-money valuation cap)`` at the cap.

    Each safe owns ``amount / cap`` of the capitalization *including* all safes (YC post-money safe), so the
    capitalization after conversion is ``capitalization_before / (1 - Σ amount/cap)``.
    """
    fractions = [amount / cap for amount, cap in safes]
    total = sum(fractions, ZERO)
    if total >= ONE:
        raise ValueError("post-money safes would own 100 % or more of the company")
    capitalization = capitalization_before / (ONE - total)
    return [whole_shares(capitalization * fraction) for fraction in fractions]


def priced_round(
    pre_money: Decimal,
    investment: Decimal,
    fully_diluted_before: Decimal,
    target_pool_fraction: Decimal,
    pool_available_before: Decimal = ZERO,
) -> PricedRound:
    """Price a round whose pool top-up is counted in the pre-money (the "option pool shuffle").

    The unallocated pool after the round must be ``target_pool_fraction`` of the post-money fully diluted
    count. ``fully_diluted_before`` includes ``pool_available_before``. Price = pre-money / pre-money fully
    diluted shares (existing + new pool); the new pool is rounded up, investor shares down.
    """
    post_over_pre = (pre_money + investment) / pre_money
    # pool_after = t * post_fd and post_fd = (fd_before + new_pool) * post/pre, solved for new_pool:
    t = target_pool_fraction
    needed = (t * fully_diluted_before * post_over_pre - pool_available_before) / (ONE - t * post_over_pre)
    new_pool = max(needed, ZERO).to_integral_value(rounding="ROUND_CEILING")
    pre_fd = fully_diluted_before + new_pool
    price = pre_money / pre_fd
    investor = whole_shares(investment / price)
    return PricedRound(
        price_per_share=price,
        new_pool_shares=new_pool,
        investor_shares=investor,
        pre_money_fully_diluted=pre_fd,
        post_money_fully_diluted=pre_fd + investor,
    )
