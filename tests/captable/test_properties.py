from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from captable import replay, validate
from captable.events import Action
from tests.plugins.ledgers import act, base_ledger, stock

START = date(2024, 1, 1)


@st.composite
def ledgers(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    events = []
    live: list[str] = []
    for n in range(draw(st.integers(1, 25))):
        when = START + timedelta(days=n)
        if live and draw(st.booleans()):
            target = draw(st.sampled_from(live))
            events.append(act(f"c{n}", Action.CANCELLATION, target, when, draw(st.integers(1, 2_000))))
            live.remove(target)
        else:
            holder = draw(st.sampled_from(["alice", "bob", "vc"]))
            events.append(stock(f"i{n}", f"s{n}", holder, draw(st.integers(1, 1_000)), when))
            live.append(f"s{n}")
    return base_ledger(*events)


@settings(max_examples=60, deadline=None)
@given(ledgers())
def test_valid_ledgers_replay_to_non_negative_positions_and_full_ownership(ledger) -> None:  # type: ignore[no-untyped-def]
    state = replay(ledger, START + timedelta(days=30))
    assert all(p.quantity >= 0 for p in state.positions)
    if not validate(ledger) and state.outstanding_shares:
        assert abs(sum(state.ownership_by_holder.values()) - 1) < Decimal("1e-20")
        assert abs(sum(state.ownership_by_class.values()) - 1) < Decimal("1e-20")
