"""Item validation by object_type: each missing, mistyped or out-of-enum field is one problem naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from captable.ocf.validation import normalize, required_fields, validate_item
from captable.problems import Problem
from tests.plugins.captable import basic_ledger, issue, series_a, stock_class
from tests.plugins.ocf_samples import SAMPLES


def _reasons(item: dict[str, Any]) -> dict[str, str]:
    return {p.field: p.reason for p in validate_item(item)}


def test_every_item_of_the_test_ledgers_is_valid() -> None:
    for item in (*basic_ledger(), *series_a()):
        assert validate_item(item) == [], item


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared OCF data is absent")
def test_the_stakeholders_and_stock_classes_of_the_official_samples_are_valid() -> None:
    for name in ("Stakeholders.ocf.json", "StockClasses.ocf.json", "StockPlans.ocf.json", "Valuations.ocf.json"):
        items = json.loads((SAMPLES / name).read_text())["items"]
        assert items
        assert [p for i in items for p in validate_item(normalize(i))] == [], name


def test_an_unknown_or_missing_object_type_is_one_problem() -> None:
    assert validate_item({"id": "x", "object_type": "TX_TELEPORT"}) == [
        Problem("x", "TX_TELEPORT", "object_type", "unknown object_type 'TX_TELEPORT'")
    ]
    assert validate_item({}) == [Problem("?", "None", "object_type", "unknown object_type None")]


def test_each_missing_required_field_is_named() -> None:
    assert validate_item({"object_type": "STOCK_PLAN", "id": "p"}) == [
        Problem("p", "STOCK_PLAN", "plan_name", "required field is missing"),
        Problem("p", "STOCK_PLAN", "initial_shares_reserved", "required field is missing"),
    ]
    # an explicit null is missing too, an optional field absent is not a problem
    assert _reasons({"object_type": "STOCK_PLAN", "id": "p", "plan_name": None, "initial_shares_reserved": "1"}) == {
        "plan_name": "required field is missing"
    }


def test_an_option_without_expiry_may_say_null_but_not_leave_it_out() -> None:
    grant = {
        "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
        "id": "g",
        "date": "2024-01-01",
        "security_id": "o-1",
        "custom_id": "O-1",
        "stakeholder_id": "alice",
        "security_law_exemptions": [],
        "compensation_type": "OPTION",
        "quantity": "100",
        "expiration_date": None,
        "termination_exercise_windows": [],
    }
    assert validate_item(grant) == []
    del grant["expiration_date"]
    assert _reasons(grant) == {"expiration_date": "required field is missing"}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("quantity", "1,000", "'1,000' is not a numeric string"),
        ("quantity", 1000, "1000 is not a numeric string"),
        ("quantity", "1.12345678901", "'1.12345678901' is not a numeric string"),
        ("date", "2024-02-30", "'2024-02-30' is not a valid YYYY-MM-DD date"),
        ("date", "20240101", "'20240101' is not a YYYY-MM-DD date"),
        ("date", 20240101, "20240101 is not a date"),
        ("share_price", "0.001", "expected a monetary object {amount, currency}"),
        ("share_price", {"amount": "x", "currency": "USD"}, "amount: 'x' is not a numeric string"),
        ("share_price", {"amount": "1", "currency": "usd"}, "currency 'usd' is not an ISO 4217 code"),
        ("stakeholder_id", 7, "expected a string, got int"),
        ("stock_legend_ids", ["a", 1], "expected an array of strings"),
        ("security_law_exemptions", {}, "expected an array"),
        ("issuance_type", "GIFT", "'GIFT' is not one of ['FOUNDERS_STOCK', 'RSA']"),
    ],
)
def test_a_mistyped_field_is_one_problem_saying_why(field: str, value: Any, reason: str) -> None:
    item = {**issue("i", "cs-1", "alice", "1000", "2024-01-10"), field: value}
    assert validate_item(item) == [Problem("i", "TX_STOCK_ISSUANCE", field, reason)]


@pytest.mark.parametrize("quantity", ["0", "-5", "+1.5", "1.1234567890"])
def test_numeric_strings_with_sign_and_up_to_ten_decimals_are_numbers(quantity: str) -> None:
    assert validate_item(issue("i", "cs-1", "alice", quantity, "2024-01-10")) == []


@pytest.mark.parametrize("authorized", ["UNLIMITED", "NOT APPLICABLE", "10000"])
def test_authorized_shares_may_be_a_number_or_a_keyword(authorized: str) -> None:
    assert validate_item(stock_class("c", "C", "COMMON", authorized)) == []


def test_authorized_shares_of_another_keyword_are_refused() -> None:
    assert _reasons(stock_class("c", "C", "COMMON", "LOTS")) == {
        "initial_shares_authorized": "'LOTS' is not a numeric string"
    }


def test_conversion_rights_and_ratios_are_checked_inside() -> None:
    bad_ratio = {"conversion_mechanism": {"type": "RATIO_CONVERSION", "ratio": {"numerator": "1", "denominator": "x"}}}
    item = {**stock_class("p", "P", "PREFERRED", "10"), "conversion_rights": [bad_ratio]}
    assert _reasons(item) == {"conversion_rights": "[0].conversion_mechanism: ratio: 'x' is not a numeric string"}
    item["conversion_rights"] = ["right"]
    assert _reasons(item) == {"conversion_rights": "[0]: expected an object"}
    split = {
        "object_type": "TX_STOCK_CLASS_SPLIT",
        "id": "s",
        "date": "2024-01-01",
        "stock_class_id": "c",
        "split_ratio": "2:1",
    }
    assert _reasons(split) == {"split_ratio": "expected a ratio {numerator, denominator}"}


def test_the_convertibles_seniority_is_an_integer_not_a_boolean() -> None:
    safe = {
        "object_type": "TX_CONVERTIBLE_ISSUANCE",
        "id": "s",
        "date": "2024-01-01",
        "security_id": "safe-1",
        "custom_id": "SAFE-1",
        "stakeholder_id": "fund",
        "security_law_exemptions": [],
        "convertible_type": "SAFE",
        "investment_amount": {"amount": "100000", "currency": "USD"},
        "conversion_triggers": [],
        "seniority": 1,
    }
    assert validate_item(safe) == []
    assert _reasons({**safe, "seniority": True}) == {"seniority": "expected an integer, got True"}


def test_normalize_renames_the_legacy_spellings_and_leaves_the_original() -> None:
    legacy = {"object_type": "TX_PLAN_SECURITY_ISSUANCE", "id": "g"}
    assert normalize(legacy) == {"object_type": "TX_EQUITY_COMPENSATION_ISSUANCE", "id": "g"}
    assert legacy["object_type"] == "TX_PLAN_SECURITY_ISSUANCE"
    plan = {"object_type": "STOCK_PLAN", "id": "p", "stock_class_id": "common"}
    assert normalize(plan) == {"object_type": "STOCK_PLAN", "id": "p", "stock_class_ids": ["common"]}
    holder = {"object_type": "STAKEHOLDER", "id": "h", "current_relationship": "EMPLOYEE"}
    assert normalize(holder)["current_relationships"] == ["EMPLOYEE"]
    # a 1.2 spelling present already wins; nothing is merged
    both = {"object_type": "STOCK_PLAN", "id": "p", "stock_class_id": "a", "stock_class_ids": ["b"]}
    assert normalize(both) == both


def test_required_fields_are_those_of_the_type() -> None:
    assert required_fields("TX_STOCK_CLASS_SPLIT") == {"id", "date", "stock_class_id", "split_ratio"}
    assert required_fields("STAKEHOLDER") == {"id", "name", "stakeholder_type"}
    assert required_fields("TX_TELEPORT") == frozenset()
