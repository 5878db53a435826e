from datetime import date

import pytest

from captable import LedgerRejected, Problem, ensure_valid, validate
from captable.events import Action, SecurityKind
from tests.plugins.ledgers import act, base_ledger, option, stock

D1, D2, D3 = date(2024, 1, 1), date(2024, 6, 1), date(2025, 1, 1)


def test_a_consistent_ledger_has_no_problem() -> None:
    ledger = base_ledger(
        stock("i1", "s1", "alice", 6_000_000, D1),
        stock("i2", "s2", "bob", 1_000_000, D2),
        act("t1", Action.TRANSFER, "s1", D2, 1_000_000, resulting=("s2",), balance="s3"),
        stock("i3", "s3", "alice", 5_000_000, D2),
    )
    assert validate(ledger) == []
    assert ensure_valid(ledger) is ledger


def test_every_problem_is_reported_with_object_and_field() -> None:
    ledger = base_ledger(
        stock("i1", "s1", "alice", 1_000, D2),
        stock("i2", "s2", "ghost", 10, D1),  # missing stakeholder
        stock("i3", "s3", "bob", 10, D1, stock_class="nope"),  # missing class
        act("c1", Action.CANCELLATION, "s1", D3, 5_000),  # above what is held
        act("r1", Action.REPURCHASE, "s1", D1, 10),  # dated before the holding exists
        act("x1", Action.TRANSFER, "missing", D3, 1, resulting=("s2",)),  # missing security
        option("g1", "o1", "emp", 2_000_000, D1),  # beyond the 1,000,000 reserve
        stock("i4", "s4", "alice", 9_999_000, D3),  # beyond 10,000,000 authorized common
    )
    problems = validate(ledger)
    assert set(problems) == {
        Problem("i2", "TX_STOCK_ISSUANCE", "stakeholder_id", "stakeholder 'ghost' does not exist"),
        Problem("i3", "TX_STOCK_ISSUANCE", "stock_class_id", "stock class 'nope' does not exist"),
        Problem(
            "c1",
            "TX_STOCK_CANCELLATION",
            "quantity",
            "quantity 5000 exceeds the 1000 outstanding on security 's1'",
        ),
        Problem(
            "r1",
            "TX_STOCK_REPURCHASE",
            "date",
            "dated 2024-01-01, before security 's1' is issued on 2024-06-01",
        ),
        Problem("x1", "TX_STOCK_TRANSFER", "security_id", "security 'missing' does not exist"),
        Problem(
            "g1",
            "TX_EQUITY_COMPENSATION_ISSUANCE",
            "quantity",
            "stock plan 'plan' would have 2000000 shares granted or issued, above the 1000000 reserved",
        ),
        Problem(
            "i4",
            "TX_STOCK_ISSUANCE",
            "quantity",
            "stock class 'common' would have 10000010 shares outstanding, above the 10000000 authorized",
        ),
    }
    with pytest.raises(LedgerRejected, match=r"ledger rejected: .* \(and 6 more\)"):
        ensure_valid(ledger)


def test_exercise_without_resulting_security_is_rejected() -> None:
    ledger = base_ledger(
        option("g1", "o1", "emp", 1_000, D1),
        act("e1", Action.EXERCISE, "o1", D2, 400, kind=SecurityKind.EQUITY_COMPENSATION),
    )
    (problem,) = validate(ledger)
    assert problem.object_id == "e1"
    assert problem.field == "resulting_security_ids"
    assert "names no resulting security" in problem.reason


def test_transfer_must_conserve_quantity_and_balance() -> None:
    ledger = base_ledger(
        stock("i1", "s1", "alice", 100, D1),
        act("t1", Action.TRANSFER, "s1", D2, 40, resulting=("s2",), balance="s3"),
        stock("i2", "s2", "bob", 50, D2),
        stock("i3", "s3", "alice", 70, D2),
    )
    assert {(p.object_id, p.field) for p in validate(ledger)} == {
        ("t1", "resulting_security_ids"),
        ("t1", "balance_security_id"),
    }


def test_same_day_transfer_does_not_count_twice_against_authorized() -> None:
    ledger = base_ledger(
        stock("i1", "s1", "alice", 10_000_000, D1),
        act("t1", Action.TRANSFER, "s1", D2, 10_000_000, resulting=("s2",)),
        stock("i2", "s2", "bob", 10_000_000, D2),
    )
    assert validate(ledger) == []


def test_duplicate_ids_are_reported() -> None:
    ledger = base_ledger(stock("i1", "s1", "alice", 1, D1), stock("i1", "s1", "bob", 1, D1))
    assert {(p.object_id, p.field) for p in validate(ledger)} == {("i1", "id"), ("i1", "security_id")}
