"""Properties of the exit waterfall over generated cap tables (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from captable.events import SecurityKind
from captable.ledger import Ledger
from captable.waterfall import Assumptions, ClassTerms, Decision, Waterfall, exit_waterfall
from tests.plugins.ledgers import DAY, EXIT, company, option, preferred, safe, stock

D = Decimal


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Ledger, Assumptions]:
    classes = []
    events = [stock("i-f", "cs-f", "founders", draw(st.integers(1, 10_000_000)), DAY)]
    overrides: dict[str, ClassTerms] = {}
    for n in range(draw(st.integers(0, 3))):
        cid = f"P{n}"
        participation = draw(st.sampled_from(["none", "capped", "uncapped"]))
        price = str(draw(st.integers(1, 500)) / 100)
        classes.append(
            preferred(
                cid,
                price,
                multiple=str(draw(st.sampled_from([1, 1, 2, 3]))),
                cap=str(draw(st.sampled_from([2, 3]))) if participation == "capped" else None,
                seniority=str(draw(st.integers(1, 3))),
            )
        )
        if participation == "uncapped":
            overrides[cid] = ClassTerms(participating=True)
        events.append(stock(f"i-{cid}", f"s-{cid}", f"inv{n}", draw(st.integers(1, 5_000_000)), DAY, cid, price))
    for n in range(draw(st.integers(0, 2))):
        events.append(option(f"i-o{n}", f"o{n}", "emp", draw(st.integers(1, 1_000_000)), DAY))
    for n in range(draw(st.integers(0, 2))):
        cap = draw(st.sampled_from([None, "5000000", "20000000"]))
        events.append(safe(f"safe{n}", f"angel{n}", str(draw(st.integers(1, 50)) * 10_000), cap))
    return company(tuple(classes), *events), Assumptions(participation=overrides)


exits = st.integers(0, 200_000_000).map(D)


def _claims_paid(result: Waterfall) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for line in result.lines:
        paid[line.source_id] = paid.get(line.source_id, D(0)) + line.preference
    return paid


@settings(max_examples=150, deadline=None)
@given(scenarios(), exits)
def test_payouts_sum_to_the_exit_value(scenario: tuple[Ledger, Assumptions], exit_value: Decimal) -> None:
    ledger, assumptions = scenario
    result = exit_waterfall(ledger, exit_value, EXIT, assumptions)
    assert sum(line.amount for line in result.lines) + result.unallocated == exit_value
    assert result.unallocated == 0  # founders' common can always take the residual
    assert all(line.amount >= 0 for line in result.lines)
    assert result.stable


@settings(max_examples=150, deadline=None)
@given(scenarios(), exits)
def test_a_senior_class_is_paid_in_full_before_a_junior_one_gets_anything(
    scenario: tuple[Ledger, Assumptions], exit_value: Decimal
) -> None:
    ledger, assumptions = scenario
    result = exit_waterfall(ledger, exit_value, EXIT, assumptions)
    seniority = {c.id: c.seniority for c in ledger.stock_classes}
    paid = _claims_paid(result)
    claiming = [
        c
        for c in result.classes
        if c.kind is SecurityKind.STOCK and c.claim > 0 and c.decision is not Decision.CONVERTS
    ]
    for junior in claiming:
        if paid.get(junior.source_id, D(0)) > 0:
            for senior in claiming:
                if seniority[senior.source_id] > seniority[junior.source_id]:
                    assert abs(paid[senior.source_id] - senior.claim) < D("1e-30"), (senior, junior)


@settings(max_examples=150, deadline=None)
@given(scenarios(), exits)
def test_no_class_or_convertible_would_rather_switch(scenario: tuple[Ledger, Assumptions], exit_value: Decimal) -> None:
    ledger, assumptions = scenario
    result = exit_waterfall(ledger, exit_value, EXIT, assumptions)
    for c in result.classes:
        if c.alternative is not None:
            assert c.received >= c.alternative, c
    for c in result.classes:
        if c.decision is Decision.PREFERENCE:  # non-participating: never less than its as-converted value
            as_converted = c.alternative
            assert as_converted is not None
            assert c.received >= as_converted


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 10_000_000),
    st.integers(1, 5_000_000),
    st.integers(1, 500),
    st.sampled_from(["none", "capped", "uncapped"]),
    st.lists(st.integers(0, 100_000_000), min_size=2, max_size=6),
)
def test_payouts_rise_with_the_exit_value_for_one_preferred_class(
    common: int, shares: int, cents: int, participation: str, values: list[int]
) -> None:
    price = str(D(cents) / 100)
    ledger = company(
        (preferred("A", price, cap="2" if participation == "capped" else None),),
        stock("i-f", "cs-f", "founders", common, DAY),
        stock("i-a", "s-a", "investor", shares, DAY, "A", price),
    )
    terms = Assumptions(participation={"A": ClassTerms(True)} if participation == "uncapped" else {})
    previous: dict[str, Decimal] = {}
    for value in sorted(values):
        paid = exit_waterfall(ledger, D(value), EXIT, terms).by_holder()
        for holder, amount in paid.items():
            # rounded to the cent, a holder may lose one cent to the other at equal exact amounts
            assert amount >= previous.get(holder, D(0)) - D("0.01"), (holder, value)
        previous = paid
