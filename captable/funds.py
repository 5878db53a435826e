"""Fund metrics from cash flows: paid-in, distributions, NAV → TVPI, DPI, RVPI, and IRR by XIRR.

XIRR follows Excel: ``Σ cf_i / (1 + r) ** ((d_i - d_0) / 365) = 0`` (actual/365 from the first flow). It is
solved in float (Newton, then bisection) and returned as a ``Decimal`` rounded to 10 decimal places.
An IRR is *undefined* — an :class:`Undefined` value, never an exception or NaN — when:

- the flows have no sign change (all investments or all returns): no root exists;
- the flows have more than one sign change (Descartes: up to that many roots) **and** the NPV changes sign
  more than once over a grid of rates (-99 % to about +9,700 %): several IRRs exist, none is "the" IRR;
- no root is found on that grid (the grid is 1 % steps up to +99 %, then steps of 2^(1/4)).
Ratios with nothing paid in are undefined as well.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
_GRID = [-0.99 + 0.01 * i for i in range(199)] + [2 ** (k / 4) - 1 for k in range(4, 54)]


@dataclass(frozen=True, slots=True)
class Defined:
    value: Decimal


@dataclass(frozen=True, slots=True)
class Undefined:
    reason: str


Metric = Defined | Undefined


@dataclass(frozen=True, slots=True)
class CashFlow:
    date: dt.date
    amount: Decimal  # from the investor's side: negative = paid in, positive = received


@dataclass(frozen=True, slots=True)
class FundMetrics:
    paid_in: Decimal
    distributed: Decimal
    nav: Decimal
    tvpi: Metric
    dpi: Metric
    rvpi: Metric
    irr: Metric


def fund_metrics(
    capital_calls: Sequence[CashFlow], distributions: Sequence[CashFlow], nav: Decimal, as_of: dt.date
) -> FundMetrics:
    """Amounts of calls and distributions are positive; NAV counts as a final distribution on ``as_of``."""
    paid_in = sum((c.amount for c in capital_calls), ZERO)
    distributed = sum((d.amount for d in distributions), ZERO)
    flows = [CashFlow(c.date, -c.amount) for c in capital_calls] + list(distributions)
    if nav:
        flows.append(CashFlow(as_of, nav))
    return FundMetrics(
        paid_in=paid_in,
        distributed=distributed,
        nav=nav,
        tvpi=ratio(distributed + nav, paid_in),
        dpi=ratio(distributed, paid_in),
        rvpi=ratio(nav, paid_in),
        irr=xirr(flows),
    )


def ratio(numerator: Decimal, denominator: Decimal) -> Metric:
    if not denominator:
        return Undefined("nothing paid in")
    return Defined(numerator / denominator)


def moic(holding_value: Decimal, invested: Decimal) -> Metric:
    return ratio(holding_value, invested) if invested else Undefined("nothing invested")


def xirr(flows: Sequence[CashFlow]) -> Metric:
    flows = sorted((f for f in flows if f.amount), key=lambda f: f.date)
    if not flows:
        return Undefined("no cash flows")
    signs = [f.amount > 0 for f in flows]
    changes = sum(1 for a, b in itertools.pairwise(signs) if a != b)
    if changes == 0:
        return Undefined("cash flows have no sign change")
    first = flows[0].date
    years = [(f.date - first).days / 365.0 for f in flows]
    amounts = [float(f.amount) for f in flows]

    def npv(rate: float) -> float:
        return sum(a / _growth(rate, t) for a, t in zip(amounts, years, strict=True))

    values = [(r, npv(r)) for r in _GRID]
    brackets = [
        (r0, r1)
        for (r0, v0), (r1, v1) in itertools.pairwise(values)
        if math.isfinite(v0) and math.isfinite(v1) and (v0 == 0 or v0 * v1 < 0)
    ]
    if changes > 1 and len(brackets) > 1:
        return Undefined(f"several IRRs: NPV changes sign {len(brackets)} times")
    if not brackets:
        return Undefined("no IRR between -99 % and +9,700 %")
    low, high = brackets[0]
    rate = _solve(npv, low, high, amounts, years)
    return Defined(Decimal(repr(rate)).quantize(Decimal("1e-10")))


def _growth(rate: float, years: float) -> float:
    # every rate tried is above -100 % (the grid starts at -99 %, Newton stays in a bracket), so the power is real
    factor: float = (1.0 + rate) ** years
    return factor


def _solve(f: Callable[[float], float], low: float, high: float, amounts: list[float], years: list[float]) -> float:

    def d_npv(rate: float) -> float:
        return sum(-t * a / _growth(rate, t + 1) for a, t in zip(amounts, years, strict=True))

    rate = (low + high) / 2
    for _ in range(100):  # Newton inside the bracket, bisection when it steps out
        value = f(rate)
        if abs(value) < 1e-9:
            return rate
        if f(low) * value < 0:
            high = rate
        else:
            low = rate
        slope = d_npv(rate)
        step = rate - value / slope if slope else (low + high) / 2
        rate = step if low < step < high else (low + high) / 2
    return rate
