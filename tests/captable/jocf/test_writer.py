"""Writing a ledger as JOCF: imported items written back from their original, others from the ledger, and
everything JOCF cannot express named in a warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from captable.jocf.importer import import_jocf
from captable.jocf.reader import read_jocf
from captable.jocf.writer import FILES, jocf_files
from captable.ledger import Ledger
from captable.ocf.reader import RawItem, RawPackage
from resolvers.captable.ledgers import ledger_from_items
from tests.plugins.captable import basic_ledger, series_a
from tests.plugins.jocf_samples import COMMON

HOLDER = {"object_type": "SECURITY_HOLDER", "id": "h", "name": {"legal_name": "H"}, "email": "h@example.jp"}
ISSUANCE = {
    "object_type": "TX_STOCK_ISSUANCE",
    "id": "i-1",
    "date": "2024-01-10",
    "securityholder_id": "h",
    "security_id": "cs-1",
    "stock_class_id": COMMON["id"],
    "share_price": {"amount": "100", "currency": "JPY"},
    "quantity": "1000",
    "description": "設立時発行株式",
}


def _decoded(files: dict[str, bytes]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name, content in files.items():
        data = json.loads(content)
        out[data["file_type"]] = data["items"]
        assert (name, data["file_type"]) in FILES
    return out


def _imported() -> Ledger:
    items = (
        ("JOCF_SECURITY_HOLDERS_FILE", HOLDER),
        ("JOCF_STOCK_CLASSES_FILE", COMMON),
        ("JOCF_TRANSACTIONS_FILE", ISSUANCE),
    )
    result = import_jocf(RawPackage({}, (0, 0, 0), tuple(RawItem(f, "p", i) for f, i in items)), None)
    assert result.ok, result.result.problems
    return result.result.ledger


def test_an_imported_ledger_exports_each_item_as_it_came() -> None:
    files, warnings = jocf_files(_imported())

    assert warnings == ()
    assert _decoded(files) == {
        "JOCF_SECURITY_HOLDERS_FILE": [HOLDER],
        "JOCF_STOCK_CLASSES_FILE": [COMMON],
        "JOCF_TRANSACTIONS_FILE": [ISSUANCE],
    }


def test_what_is_written_reads_back_to_the_same_ledger(tmp_path: Path) -> None:
    ledger = _imported()
    files, _ = jocf_files(ledger)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)

    again = import_jocf(read_jocf(tmp_path), None)
    assert again.ok, again.result.problems
    assert again.result.ledger == ledger


def test_an_ocf_ledger_is_written_from_the_ledger_and_what_jocf_cannot_express_is_named() -> None:
    ledger = ledger_from_items(
        [{"object_type": "ISSUER", "id": "co", "legal_name": "Co"}, *basic_ledger(), *series_a()]
    )
    files, warnings = jocf_files(ledger)

    assert [(w.object_id, w.object_type, w.field, w.reason) for w in warnings] == [
        ("pool-topup", "TX_STOCK_PLAN_POOL_ADJUSTMENT", "object_type", "JOCF cannot express it; left out"),
        ("plan", "STOCK_PLAN", "object_type", "JOCF cannot express it; left out"),
        ("series-a", "FINANCING", "object_type", "JOCF cannot express it; left out"),
    ]
    written = _decoded(files)
    assert "JOCF_SECURITYHOLDERS_AGREEMENT_FILE" not in written  # no empty file
    assert written["JOCF_SECURITY_HOLDERS_FILE"][0] == {
        "object_type": "SECURITY_HOLDER",
        "id": "alice",
        "name": {"legal_name": "Alice"},
        "security_holder_type": "INDIVIDUAL",
    }
    preferred = next(c for c in written["JOCF_STOCK_CLASSES_FILE"] if c["id"] == "seriesA")
    assert preferred == {
        "object_type": "STOCK_CLASS",
        "id": "seriesA",
        "name": "Series A",
        "class_type": "PREFERRED",
        "votes_per_share": "1",
        "initial_shares_authorized": "5000000",
        "preffered_stock_attributes": {"conversion_triggers": []},
    }
    assert [t["id"] for t in written["JOCF_TRANSACTIONS_FILE"]] == ["i-alice", "i-bob", "i-fund"]
    fund = written["JOCF_TRANSACTIONS_FILE"][2]
    assert (fund["securityholder_id"], fund["quantity"], fund["share_price"]) == (
        "fund",
        "2000000",
        {"amount": "1", "currency": "USD"},  # a whole amount is written without decimals
    )


@pytest.mark.parametrize(("text", "kept"), [("1000", "1000"), ("1000.0", "1000.0"), ("01000", "01000")])
def test_a_number_keeps_its_original_text_when_it_says_the_same(text: str, kept: str) -> None:
    items = (
        ("JOCF_SECURITY_HOLDERS_FILE", HOLDER),
        ("JOCF_STOCK_CLASSES_FILE", COMMON),
        ("JOCF_TRANSACTIONS_FILE", {**ISSUANCE, "quantity": text}),
    )
    result = import_jocf(RawPackage({}, (0, 0, 0), tuple(RawItem(f, "p", i) for f, i in items)), None)
    files, _ = jocf_files(result.result.ledger)
    assert _decoded(files)["JOCF_TRANSACTIONS_FILE"][0]["quantity"] == kept
