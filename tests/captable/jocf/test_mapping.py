"""JOCF items → OCF items: each meaning mapped (J-KISS, 新株予約権 in units, 株式併合 as an inverted split), the
JOCF original kept under x_jocf, agreements passed through."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from captable.jocf.mapping import MAPPED_TYPES, ORIGINAL, to_ocf, unit_values
from captable.ocf.validation import validate_item

D = Decimal
JPY = "JPY"


def _yen(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": JPY}


JKISS = {
    "object_type": "TX_CONVERTIBLE_ISSUANCE",
    "id": "i-jk",
    "date": "2021-01-01",
    "securityholder_id": "x",
    "security_id": "jk-1",
    "investment_amount": _yen("5000000"),
    "quantity": "5",
    "convertible_type": "J-KISS_2",
    "seniority": 1,
    "conversion_triggers": [
        {
            "trigger_id": "trig-1",
            "type": "AUTOMATIC_ON_CONDITION",
            "conversion_right": {
                "conversion_mechanism": {
                    "type": "J-KISS_CONVERSION",
                    "conversion_price_discount": "0.2",
                    "money_valuation_cap": _yen("500000000"),
                }
            },
        }
    ],
}
OPTION = {
    "object_type": "TX_STOCK_OPTION_ISSUANCE",
    "id": "i-so",
    "date": "2022-04-01",
    "securityholder_id": "emp",
    "security_id": "so-1",
    "quantity": "10",
    "share_per_unit": "100",
    "unit_price": _yen("5000"),
}


def test_unit_values_are_money_per_j_kiss_unit_and_shares_per_option() -> None:
    per_quantity = {**JKISS, "security_id": "jk-2", "investment_amount_per_quantity": _yen("250000")}
    no_units = {**OPTION, "security_id": "so-2", "share_per_unit": None}
    assert unit_values([JKISS, per_quantity, OPTION, no_units, {"object_type": "TX_STOCK_ISSUANCE"}]) == {
        "jk-1": D(1_000_000),
        "jk-2": D(250_000),
        "so-1": D(100),
        "so-2": D(1),
    }


def test_a_j_kiss_becomes_a_safe_marked_j_kiss_with_its_cap_and_discount() -> None:
    file_type, item = to_ocf(JKISS, {})

    assert file_type == "OCF_TRANSACTIONS_FILE"
    assert item[ORIGINAL] == JKISS
    assert (item["convertible_type"], item["x_roundpool_instrument"], item["stakeholder_id"]) == ("SAFE", "J_KISS", "x")
    assert item["conversion_triggers"] == [
        {
            "trigger_id": "trig-1",
            "type": "AUTOMATIC_ON_CONDITION",
            "conversion_right": {
                "type": "CONVERTIBLE_CONVERSION_RIGHT",
                "conversion_mechanism": {
                    "type": "SAFE_CONVERSION",
                    "conversion_timing": "PRE_MONEY",
                    "conversion_valuation_cap": _yen("500000000"),
                    "conversion_discount": "0.2",
                },
                "converts_to_future_round": True,
            },
        }
    ]
    assert validate_item(item) == []


def test_an_option_counts_shares_and_prices_one_share() -> None:
    _, item = to_ocf(OPTION, unit_values([OPTION]))
    assert (item["object_type"], item["quantity"], item["exercise_price"]) == (
        "TX_EQUITY_COMPENSATION_ISSUANCE",
        "1000",
        {"amount": "50", "currency": JPY},
    )
    assert validate_item(item) == []
    exercise = {
        "object_type": "TX_STOCK_OPTION_EXERCISE",
        "id": "x",
        "date": "2023-01-01",
        "security_id": "so-1",
        "quantity": "3",
    }
    _, out = to_ocf(exercise, unit_values([OPTION]))
    assert (out["object_type"], out["quantity"], out["resulting_security_ids"]) == (
        "TX_EQUITY_COMPENSATION_EXERCISE",
        "300",
        [],
    )


def test_a_conversion_of_j_kiss_units_converts_their_money() -> None:
    conversion = {
        "object_type": "TX_CONVERTIBLE_CONVERSION",
        "id": "c",
        "date": "2022-01-01",
        "security_id": "jk-1",
        "resulting_security_ids": ["cs-1"],
        "reason_text": "Series A",
        "trigger_id": "trig-1",
        "quantity_converted": "3",
        "balance_security_id": "jk-1b",
    }
    _, item = to_ocf(conversion, unit_values([JKISS]))
    assert (item["quantity_converted"], item["balance_security_id"]) == ("3000000", "jk-1b")
    _, unknown = to_ocf(conversion, {})
    assert "quantity_converted" not in unknown  # no unit value known: the whole convertible converts


@pytest.mark.parametrize(
    ("kind", "ratio_field", "ratio", "split"),
    [
        (
            "TX_STOCK_SPLIT",
            "split_ratio",
            {"numerator": "10", "denominator": "1"},
            {"numerator": "10", "denominator": "1"},
        ),
        (
            "TX_STOCK_MERGER",
            "merger_ratio",
            {"numerator": "10", "denominator": "1"},
            {"numerator": "1", "denominator": "10"},
        ),
    ],
)
def test_a_split_and_a_merger_are_class_splits(kind: str, ratio_field: str, ratio: Any, split: Any) -> None:
    item = {"object_type": kind, "id": "s", "date": "2024-01-01", "stock_class_id": "c", ratio_field: ratio}
    file_type, out = to_ocf(item, {})
    assert (file_type, out["object_type"], out["split_ratio"]) == (
        "OCF_TRANSACTIONS_FILE",
        "TX_STOCK_CLASS_SPLIT",
        split,
    )


def test_a_preferred_class_reads_its_preference_and_conversion() -> None:
    preferred = {
        "object_type": "STOCK_CLASS",
        "id": "class-a-preferred",
        "name": "A種優先株式",
        "class_type": "PREFERRED",
        "initial_shares_authorized": "1000000",
        "preffered_stock_attributes": {
            "liquidation_preference_attributes": {"seniority": 2, "liquidation_preference_multiple": "1"},
            "conversion_triggers": [
                {
                    "conversion_right": {
                        "conversion_mechanism": {"type": "RATIO_CONVERSION"},
                        "converts_to_stock_class_id": "c",
                    }
                },
                {"conversion_right": "not an object"},
            ],
        },
    }
    file_type, out = to_ocf(preferred, {})
    assert file_type == "OCF_STOCK_CLASSES_FILE"
    assert {k: v for k, v in out.items() if k != ORIGINAL} == {
        "object_type": "STOCK_CLASS",
        "id": "class-a-preferred",
        "name": "A種優先株式",
        "class_type": "PREFERRED",
        "default_id_prefix": "class-a--",
        "initial_shares_authorized": "1000000",
        "votes_per_share": "1",
        "seniority": "2",
        "liquidation_preference_multiple": "1",
        "conversion_rights": [
            {"conversion_mechanism": {"type": "RATIO_CONVERSION"}, "converts_to_stock_class_id": "c"}
        ],
    }


def test_a_holder_becomes_a_stakeholder_and_an_agreement_passes_through() -> None:
    holder = {"object_type": "SECURITY_HOLDER", "id": "h", "name": {"legal_name": "H"}}
    assert to_ocf(holder, {}) == (
        "OCF_STAKEHOLDERS_FILE",
        {
            "object_type": "STAKEHOLDER",
            "id": "h",
            "name": {"legal_name": "H"},
            "stakeholder_type": "INDIVIDUAL",
            ORIGINAL: holder,
        },
    )
    agreement = {"object_type": "MASTER_SECURITYHOLDERS_AGREEMENT", "id": "a", "title": "株主間契約"}
    assert to_ocf(agreement, {}) == ("JOCF_SECURITYHOLDERS_AGREEMENT_FILE", agreement)


def test_an_item_with_no_ledger_meaning_is_refused() -> None:
    assert "TX_STOCK_OPTOIN_ISSUANCE" not in MAPPED_TYPES
    with pytest.raises(ValueError, match="JOCF TX_STOCK_OPTOIN_ISSUANCE has no ledger meaning"):
        to_ocf({"object_type": "TX_STOCK_OPTOIN_ISSUANCE", "id": "x"}, {})
    with pytest.raises(KeyError, match="securityholder_id"):
        to_ocf({k: v for k, v in JKISS.items() if k != "securityholder_id"}, {})
