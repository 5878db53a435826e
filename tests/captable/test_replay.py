from datetime import date
from decimal import Decimal

from captable import ConvertibleRule, replay
from captable.events import Action, ConvertibleTerms, ConvertibleType, Issuance, SecurityKind, StockClassSplit
from tests.plugins.ledgers import act, base_ledger, option, stock, usd

D = Decimal
D1, D2, D3 = date(2024, 1, 1), date(2024, 6, 1), date(2025, 1, 1)


def _ledger():  # type: ignore[no-untyped-def]
    return base_ledger(
        stock("i1", "s1", "alice", 6_000_000, D1),
        stock("i2", "s2", "bob", 2_000_000, D1),
        option("g1", "o1", "emp", 200_000, D1),
        act("t1", Action.TRANSFER, "s1", D2, 1_000_000, resulting=("s3",), balance="s4"),
        stock("i3", "s3", "vc", 1_000_000, D2),
        stock("i4", "s4", "alice", 5_000_000, D2),
        act("c1", Action.CANCELLATION, "o1", D3, 50_000, kind=SecurityKind.EQUITY_COMPENSATION),
    )


def test_positions_outstanding_and_fully_diluted_as_of_dates() -> None:
    before = replay(_ledger(), D1)
    assert before.outstanding_shares == 8_000_000
    assert before.fully_diluted_shares == 8_000_000 + 1_000_000  # pool reserve: granted + available
    assert before.pools["plan"].available == 800_000
    after = replay(_ledger(), D3)
    assert {p.security_id: p.quantity for p in after.positions} == {
        "s2": 2_000_000,
        "s3": 1_000_000,
        "s4": 5_000_000,
        "o1": 150_000,
    }
    assert after.pools["plan"].granted == 150_000
    assert after.pools["plan"].available == 850_000
    assert after.ownership_by_holder == {"alice": D("0.625"), "bob": D("0.25"), "vc": D("0.125")}
    assert after.fully_diluted_shares == 9_000_000
    assert after.fully_diluted_ownership_by_holder["emp"] == D(150_000) / D(9_000_000)
    assert after.ownership_by_class == {"common": 1}


def test_split_applies_to_stock_issued_before_its_date() -> None:
    ledger = base_ledger(
        stock("i1", "s1", "alice", 1_000, D1),
        StockClassSplit("sp", D2, "common", D(2), D(1)),
        stock("i2", "s2", "bob", 500, D2),
    )
    state = replay(ledger, D2)
    assert {p.security_id: p.quantity for p in state.positions} == {"s1": 2_000, "s2": 500}


def test_convertible_rules() -> None:
    safe = Issuance(
        "c1",
        D1,
        SecurityKind.CONVERTIBLE,
        "safe1",
        "vc",
        D(100_000),
        price=usd(100_000),
        convertible_type=ConvertibleType.SAFE,
        terms=ConvertibleTerms(valuation_cap=D(10_000_000), post_money=True),
    )
    ledger = base_ledger(stock("i1", "s1", "alice", 9_000_000, D1), safe, reserved=0)
    assert replay(ledger, D2, ConvertibleRule.EXCLUDE).fully_diluted_shares == 9_000_000
    at_cap = replay(ledger, D2, ConvertibleRule.AT_CAP)
    # post-money SAFE: $100k / $10M = 1 % of the capitalization including the SAFE
    assert at_cap.fully_diluted_by_holder["vc"] == 90_909
    assert round(at_cap.fully_diluted_ownership_by_holder["vc"], 4) == D("0.0100")


def test_note_at_cap_accrues_interest() -> None:
    note = Issuance(
        "n1",
        D1,
        SecurityKind.CONVERTIBLE,
        "note1",
        "vc",
        D(365_000),
        price=usd(365_000),
        convertible_type=ConvertibleType.NOTE,
        terms=ConvertibleTerms(valuation_cap=D(10_000_000), interest_rate=D("0.10")),
    )
    ledger = base_ledger(stock("i1", "s1", "alice", 10_000_000, D1), note, reserved=0)
    state = replay(ledger, date(2025, 1, 1), ConvertibleRule.AT_CAP)  # 366 days: 2024 is a leap year
    assert state.fully_diluted_by_holder["vc"] == 401_600  # (365,000 + 36,600) x 10M / 10M


def test_replay_skips_invalid_events_instead_of_failing() -> None:
    ledger = base_ledger(stock("i1", "s1", "alice", 10, D1), act("c1", Action.CANCELLATION, "s1", D2, 50))
    assert replay(ledger, D3).outstanding_shares == 10
