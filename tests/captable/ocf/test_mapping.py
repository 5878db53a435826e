"""OCF items ↔ domain objects and events: fields read into the engine's types, everything else kept in
`extra`, and the export writing back the item it read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from captable.events import (
    Action,
    ConvertibleType,
    Issuance,
    Issuer,
    Money,
    OtherEvent,
    SecurityEvent,
    SecurityKind,
    Stakeholder,
    StockClass,
    StockClassSplit,
)
from captable.ocf.mapping import event_from_ocf, issuer_from_ocf, issuer_to_ocf, object_from_ocf, to_ocf
from captable.ocf.reader import read_package
from captable.ocf.validation import normalize, validate_item
from tests.plugins.captable import basic_ledger, issue, series_a, stakeholder, stock_class
from tests.plugins.ledgers import safe
from tests.plugins.ocf_samples import ACME, SAMPLES

D = Decimal


def _mapped(item: dict[str, Any]) -> Any:
    return (event_from_ocf if item["object_type"].startswith("TX_") else object_from_ocf)(item)


def _differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def test_a_stakeholder_keeps_its_whole_name_object() -> None:
    item = {**stakeholder("alice", "Alice"), "name": {"legal_name": "Alice", "first_name": "A."}, "email": "a@x"}
    holder = object_from_ocf(item)
    assert holder == Stakeholder(
        "alice", "Alice", "INDIVIDUAL", extra={"name": {"legal_name": "Alice", "first_name": "A."}, "email": "a@x"}
    )
    assert to_ocf(holder) == item


def test_a_preferred_class_reads_its_conversion_ratio_and_target() -> None:
    rights = [
        {
            "conversion_mechanism": {
                "type": "RATIO_CONVERSION",
                "ratio": {"numerator": "3", "denominator": "2"},
            },
            "converts_to_stock_class_id": "common",
        }
    ]
    item = {
        **stock_class("seriesA", "Series A", "PREFERRED", "5000000"),
        "liquidation_preference_multiple": "1.5",
        "price_per_share": {"amount": "2.00", "currency": "USD"},
        "conversion_rights": rights,
    }
    cls = object_from_ocf(item)
    assert isinstance(cls, StockClass)
    assert (cls.authorized_shares, cls.conversion_ratio, cls.converts_to_stock_class_id) == (
        D(5_000_000),
        D("1.5"),
        "common",
    )
    assert (cls.liquidation_preference_multiple, cls.price_per_share) == (D("1.5"), Money(D("2.00"), "USD"))
    assert to_ocf(cls) == item


@pytest.mark.parametrize("keyword", ["UNLIMITED", "NOT APPLICABLE"])
def test_unlimited_authorized_shares_have_no_limit_and_export_as_they_came(keyword: str) -> None:
    item = stock_class("common", "Common", "COMMON", keyword)
    cls = object_from_ocf(item)
    assert isinstance(cls, StockClass)
    assert cls.authorized_shares is None
    assert to_ocf(cls)["initial_shares_authorized"] == keyword


def test_a_stock_issuance_becomes_an_issuance_of_its_price_and_quantity() -> None:
    event = event_from_ocf(issue("i-alice", "cs-alice", "alice", "5000000", "2024-01-10", price="0.001"))
    assert event == Issuance(
        "i-alice",
        date(2024, 1, 10),
        SecurityKind.STOCK,
        "cs-alice",
        "alice",
        D(5_000_000),
        stock_class_id="common",
        price=Money(D("0.001"), "USD"),
        custom_id="cs-alice",
        extra={"security_law_exemptions": [], "stock_legend_ids": []},
    )


def test_a_j_kiss_exports_as_a_marked_safe_and_reads_back_as_a_j_kiss() -> None:
    jkiss = safe("jk-1", "fund", "10000000", "500000000", kind=ConvertibleType.J_KISS, post_money=False)
    item = to_ocf(jkiss)
    assert (item["convertible_type"], item["x_roundpool_instrument"]) == ("SAFE", "J_KISS")
    mechanism = item["conversion_triggers"][0]["conversion_right"]["conversion_mechanism"]
    assert mechanism == {
        "type": "SAFE_CONVERSION",
        "conversion_valuation_cap": {"amount": "500000000", "currency": "USD"},
        "conversion_timing": "PRE_MONEY",
    }
    back = event_from_ocf(item)
    assert isinstance(back, Issuance)
    assert (back.convertible_type, back.quantity, back.terms) == (ConvertibleType.J_KISS, D(10_000_000), jkiss.terms)


def test_a_transfer_and_a_split_map_to_their_events() -> None:
    transfer = {
        "object_type": "TX_STOCK_TRANSFER",
        "id": "t",
        "date": "2024-02-01",
        "security_id": "cs-alice",
        "quantity": "100",
        "resulting_security_ids": ["cs-bob-2"],
        "balance_security_id": "cs-alice-2",
        "consideration_text": "gift",
    }
    assert event_from_ocf(transfer) == SecurityEvent(
        "t",
        date(2024, 2, 1),
        SecurityKind.STOCK,
        Action.TRANSFER,
        "cs-alice",
        D(100),
        ("cs-bob-2",),
        "cs-alice-2",
        extra={"consideration_text": "gift"},
    )
    assert to_ocf(event_from_ocf(transfer)) == transfer
    split = {
        "object_type": "TX_STOCK_CLASS_SPLIT",
        "id": "s",
        "date": "2024-03-01",
        "stock_class_id": "common",
        "split_ratio": {"numerator": "10", "denominator": "1"},
    }
    assert event_from_ocf(split) == StockClassSplit("s", date(2024, 3, 1), "common", D(10), D(1))
    assert to_ocf(event_from_ocf(split)) == split


def test_an_event_the_engine_does_not_model_is_kept_whole() -> None:
    item = {
        "object_type": "CE_STAKEHOLDER_STATUS",
        "id": "st",
        "date": "2024-01-01",
        "stakeholder_id": "bob",
        "new_status": "LEAVE_OF_ABSENCE",
    }
    event = event_from_ocf(item)
    assert event == OtherEvent(
        "st",
        date(2024, 1, 1),
        "CE_STAKEHOLDER_STATUS",
        None,
        "bob",
        None,
        None,
        extra={"new_status": "LEAVE_OF_ABSENCE"},
    )
    assert to_ocf(event) == item


def test_the_issuer_round_trips_with_its_extra_fields() -> None:
    item = {
        "object_type": "ISSUER",
        "id": "co",
        "legal_name": "Co K.K.",
        "formation_date": "2020-04-01",
        "country_of_formation": "JP",
    }
    issuer = issuer_from_ocf(item)
    assert issuer == Issuer("co", "Co K.K.", date(2020, 4, 1), extra={"country_of_formation": "JP"})
    assert issuer_to_ocf(issuer) == item


def test_an_item_that_is_no_ledger_object_is_refused() -> None:
    with pytest.raises(ValueError, match="not a ledger object: TX_STOCK_ISSUANCE"):
        object_from_ocf(issue("i", "cs", "alice", "1", "2024-01-01"))


def test_every_item_of_the_test_ledgers_exports_as_it_was_read() -> None:
    for item in (*basic_ledger(), *series_a()):
        assert to_ocf(_mapped(item)) == item


@pytest.mark.skipif(not ACME.is_dir(), reason="shared OCF data is absent")
@pytest.mark.parametrize(
    ("package", "differences"),
    [
        # an empty balance_security_id means none, and is left out
        (
            ACME,
            {"sc_01": {"balance_security_id": ("", None)}, "stock_repurchase_02": {"balance_security_id": ("", None)}},
        ),
        # a number's explicit + sign is not kept
        (
            SAMPLES / "Manifest.ocf.json",
            {"257e5da9-5268-465c-84be-f6d4d4703a9b": {"initial_shares_reserved": ("+10000000.00", "10000000.00")}},
        ),
    ],
)
def test_every_valid_item_of_a_real_package_exports_as_it_was_read(package: Any, differences: dict[str, Any]) -> None:
    found: dict[str, Any] = {}
    count = 0
    for raw in read_package(package).items:
        item = normalize(raw.item)
        if raw.file_type == "OCF_STOCK_LEGEND_TEMPLATES_FILE" or validate_item(item):
            continue
        count += 1
        mapped = event_from_ocf(item) if raw.file_type == "OCF_TRANSACTIONS_FILE" else object_from_ocf(item)
        if changed := _differences(item, to_ocf(mapped)):
            found[item["id"]] = changed
    assert found == differences
    assert count > 40
