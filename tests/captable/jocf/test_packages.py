"""The JOCF samples: validated against the JOCF JSON Schema (every item, every problem), mapped onto the ledger,
exported and re-imported to the same cap table."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from captable import ConvertibleRule, replay
from captable.jocf.importer import JocfImport, import_jocf
from captable.jocf.reader import read_jocf
from captable.jocf.schema import ERRATA, JocfSchema, load_schema
from captable.jocf.writer import jocf_files
from captable.ledger import Ledger
from resolvers.captable.ledgers import ledger_from_items
from tests.plugins.captable import basic_ledger, series_a
from tests.plugins.jocf_samples import COMMON, SAMPLES, SCHEMA, write_repaired

pytestmark = pytest.mark.skipif(not SCHEMA.is_dir(), reason="shared JOCF data is absent")
FAR = date(2100, 1, 1)


@pytest.fixture(scope="module")
def schema() -> JocfSchema:
    return load_schema(SCHEMA)


def _positions(ledger: Ledger) -> dict[str, tuple[str, object, object]]:
    state = replay(ledger, FAR, ConvertibleRule.AT_CAP)
    return {p.security_id: (p.stakeholder_id, p.quantity, p.fully_diluted) for p in state.positions}


def _export(ledger: Ledger, schema: JocfSchema, folder: Path) -> Path:
    """Write the JOCF export of `ledger`; every exported item is valid under the schema."""
    files, _ = jocf_files(ledger)
    folder.mkdir(parents=True)
    for name, content in files.items():
        data = json.loads(content)
        for item in data["items"]:
            assert schema.problems(data["file_type"], item) == [], item
        (folder / name).write_bytes(content)
    return folder


def _round_trip(imported: JocfImport, schema: JocfSchema, tmp_path: Path) -> JocfImport:
    again = import_jocf(read_jocf(_export(imported.result.ledger, schema, tmp_path / "export")), schema)
    assert again.result.ledger == imported.result.ledger
    assert _positions(again.result.ledger) == _positions(imported.result.ledger)
    return again


def _fields(result: JocfImport) -> Counter[tuple[str, str]]:
    return Counter((p.object_id, p.field) for p in result.result.problems)


def test_stocktransfer_sample_is_rejected_with_its_real_defects(schema: JocfSchema, tmp_path: Path) -> None:
    result = import_jocf(read_jocf(SAMPLES / "stocktransfer"), schema)

    assert result.schema_checked
    assert result.errata == ERRATA
    # Upstream defects: holder names as strings (Name is an object), `security_holder_id` for
    # `securityholder_id`, `ammount`/`cuurency_code` for `amount`/`currency`; no stock classes file.
    issuance = {"securityholder_id", "share_price", "share_price.amount", "share_price.currency", "(item)"}
    assert set(_fields(result)) == {
        ("test-securityholder-investor-a", "name"),
        ("test-securityholder-investor-x", "name"),
        *{(f"test-initial-stock-issuance-{n}", f) for n in (1, 2, 3) for f in issuance},
        ("test-stock-transfer", "security_id"),
    }
    transfer = next(p for p in result.result.problems if p.object_id == "test-stock-transfer")
    assert "whose issuance 'test-initial-stock-issuance-1' was rejected" in transfer.reason
    _round_trip(result, schema, tmp_path)


def test_main_samples_report_every_problem_of_every_item(schema: JocfSchema, tmp_path: Path) -> None:
    folder = tmp_path / "main"
    folder.mkdir()
    for path in SAMPLES.glob("*.json"):
        (folder / path.name).write_bytes(path.read_bytes())
    result = import_jocf(read_jocf(folder), schema)

    problems = {(p.object_id, p.object_type, p.field): p.reason for p in result.result.problems}
    # typos of the object types are not JOCF object types
    for typo in ("TX_STOCK_OPTOIN_ISSUANCE", "TX_STOCK_OPTOIN_EXERCISE", "TX_STOCK_OPTOIN_CANCELLATION"):
        assert any(kind == typo and field == "object_type" for _, kind, field in problems)
    # enum values outside the schema's
    key = (
        "test-stock-class-2",
        "STOCK_CLASS",
        "preffered_stock_attributes.liquidation_preference_attributes.participation_category",
    )
    assert problems[key] == "'FULL_PARTICIPATING' is not one of ['FULL_PARTICIPATION', 'NON_PARTICIPATION']"
    # three splits (and three mergers) share one id; the classes they split are in no file
    assert problems[("test-stock-split", "TX_STOCK_SPLIT", "id")] == "id used by 3 items"
    assert ("test-stock-merger", "TX_STOCK_MERGER", "stock_class_id") in problems
    # the agreement names its parties as embedded objects the schema does not allow
    assert (
        "test-master-securityholders-agreement-1",
        "MASTER_SECURITYHOLDERS_AGREEMENT",
        "securityholders_who_agreed",
    ) in {k for k in problems}
    assert len(result.result.problems) == 45
    grouped = [p for g in result.result.groups for p in (*g.causes, *g.dependants)]
    assert sorted(grouped) == sorted(result.result.problems)
    _round_trip(result, schema, tmp_path)


def test_repaired_stocktransfer_imports_exports_and_reimports(schema: JocfSchema, tmp_path: Path) -> None:
    folder = write_repaired(SAMPLES / "stocktransfer", tmp_path / "repaired", {"JOCF_STOCK_CLASSES_FILE": [COMMON]})
    result = import_jocf(read_jocf(folder), schema)

    assert result.ok, result.result.problems
    assert {k: (v[0], v[1]) for k, v in _positions(result.result.ledger).items()} == {
        "test-security-stock-a-2": ("test-securityholder-investor-a", 750),
        "test-security-stock-x-1": ("test-securityholder-investor-x", 250),
    }
    again = _round_trip(result, schema, tmp_path)
    assert again.ok


def test_jkiss_issuance_then_conversion_in_two_deliveries(schema: JocfSchema, tmp_path: Path) -> None:
    first = import_jocf(read_jocf(write_repaired(SAMPLES / "j-kiss_2" / "1", tmp_path / "1")), schema)
    assert first.ok, first.result.problems
    issued = first.result.ledger.issuance_by_security_id["test-security-jkiss-1"]
    assert (issued.convertible_type, issued.quantity) == ("J_KISS", 5_000_000)
    assert issued.terms is not None
    assert (issued.terms.valuation_cap, issued.terms.discount) == (
        500_000_000,
        Decimal("0.2"),
    )

    stored = [i.item for i in first.items]
    second = import_jocf(read_jocf(write_repaired(SAMPLES / "j-kiss_2" / "2", tmp_path / "2")), schema, stored)
    assert second.ok, second.result.problems
    assert [i.item["id"] for i in second.items] == [
        "test-stock-class-A",
        "test-convertible-conversion-1",
        "test-stock-issuance-1",
    ]
    conversion = next(i.item for i in second.items if i.item["id"] == "test-convertible-conversion-1")
    assert conversion["quantity_converted"] == "3000000"  # 3 units of ¥1,000,000 each

    both = second.result.ledger
    positions = _positions(both)
    assert positions["test-security-stock-1"][:2] == ("test-securityholder-investor-x", 1234)
    assert positions["test-security-jkiss-1"][1] == 2_000_000  # the two units not converted
    _round_trip(import_jocf(read_jocf(_export(both, schema, tmp_path / "both")), schema), schema, tmp_path / "again")


def test_an_ocf_ledger_exports_to_valid_jocf(schema: JocfSchema, tmp_path: Path) -> None:
    ledger = ledger_from_items(
        [{"object_type": "ISSUER", "id": "co", "legal_name": "Co"}, *basic_ledger(), *series_a()]
    )
    _files, warnings = jocf_files(ledger)
    assert {(w.object_id, w.object_type) for w in warnings} == {
        ("pool-topup", "TX_STOCK_PLAN_POOL_ADJUSTMENT"),
        ("plan", "STOCK_PLAN"),
        ("series-a", "FINANCING"),
    }
    again = import_jocf(read_jocf(_export(ledger, schema, tmp_path / "export")), schema)
    assert again.ok, again.result.problems
    assert _positions(again.result.ledger) == _positions(ledger)


def test_without_the_schema_folder_items_are_checked_structurally() -> None:
    result = import_jocf(read_jocf(SAMPLES / "TransactionsFile.jocf.json"), None)

    assert not result.schema_checked
    assert result.errata == ()
    assert ("test-stock-option-issuance", "object_type") in _fields(result)
    assert ("test-initial-stock-issuance", "securityholder_id") in _fields(result)
