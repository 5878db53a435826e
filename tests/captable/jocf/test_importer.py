"""Importing JOCF: schema (or structural) checks per item, mapping, then the OCF ledger rules; problems are
named in JOCF terms, and a delivery continues the items already stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from captable.jocf.importer import import_jocf, ocf_file_of
from captable.jocf.mapping import ORIGINAL
from captable.jocf.reader import read_jocf
from captable.jocf.schema import ERRATA, JocfSchema, load_schema
from captable.ocf.reader import RawItem, RawPackage
from captable.problems import Problem
from tests.plugins.jocf_samples import COMMON, SAMPLES, SCHEMA, write_repaired

HOLDER = {"object_type": "SECURITY_HOLDER", "id": "h", "name": {"legal_name": "H"}}


def _issuance(holder: str = "h", **extra: Any) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_ISSUANCE",
        "id": "i-1",
        "date": "2024-01-10",
        "securityholder_id": holder,
        "security_id": "cs-1",
        "stock_class_id": COMMON["id"],
        "share_price": {"amount": "100", "currency": "JPY"},
        "quantity": "1000",
        **extra,
    }


def _package(*items: tuple[str, dict[str, Any]]) -> RawPackage:
    return RawPackage({}, (0, 0, 0), tuple(RawItem(f, "p.json", i) for f, i in items))


HOLDERS, CLASSES, TX = "JOCF_SECURITY_HOLDERS_FILE", "JOCF_STOCK_CLASSES_FILE", "JOCF_TRANSACTIONS_FILE"


def test_without_a_schema_a_clean_package_maps_onto_the_ledger() -> None:
    result = import_jocf(_package((HOLDERS, HOLDER), (CLASSES, COMMON), (TX, _issuance())), None)

    assert result.ok, result.result.problems
    assert (result.schema_checked, result.errata) == (False, ())
    assert [(i.file_type, i.item["object_type"]) for i in result.items] == [
        ("OCF_STAKEHOLDERS_FILE", "STAKEHOLDER"),
        ("OCF_STOCK_CLASSES_FILE", "STOCK_CLASS"),
        ("OCF_TRANSACTIONS_FILE", "TX_STOCK_ISSUANCE"),
    ]
    issued = result.result.ledger.issuance_by_security_id["cs-1"]
    assert (issued.stakeholder_id, issued.quantity, issued.extra[ORIGINAL]) == ("h", 1000, _issuance())


def test_a_ledger_problem_names_the_jocf_type_and_field() -> None:
    result = import_jocf(_package((HOLDERS, HOLDER), (CLASSES, COMMON), (TX, _issuance(holder="nobody"))), None)

    [problem] = result.result.problems
    assert (problem.object_id, problem.object_type, problem.field) == ("i-1", "TX_STOCK_ISSUANCE", "securityholder_id")
    assert "nobody" in problem.reason


def test_structural_checks_refuse_unknown_types_and_missing_ids() -> None:
    result = import_jocf(
        _package((TX, {"object_type": "TX_TELEPORT", "id": "t"}), (HOLDERS, {**HOLDER, "id": ""})), None
    )

    assert result.result.problems == (
        Problem("t", "TX_TELEPORT", "object_type", "'TX_TELEPORT' is not a JOCF object type roundpool reads"),
        Problem("?", "SECURITY_HOLDER", "id", "required field is missing"),
    )
    assert result.items == ()


def test_an_item_the_mapping_cannot_read_is_a_problem_naming_its_jocf_field() -> None:
    broken = {k: v for k, v in _issuance().items() if k != "securityholder_id"}
    result = import_jocf(_package((HOLDERS, HOLDER), (CLASSES, COMMON), (TX, broken)), None)

    assert result.result.problems == (
        Problem("i-1", "TX_STOCK_ISSUANCE", "securityholder_id", "required field is missing"),
    )


def test_a_delivery_continues_the_stored_items() -> None:
    first = import_jocf(_package((HOLDERS, HOLDER), (CLASSES, COMMON)), None)
    stored = [i.item for i in first.items]
    second = import_jocf(_package((TX, _issuance())), None, stored)

    assert second.ok, second.result.problems
    assert [i.item["id"] for i in second.items] == ["i-1"]  # only what the delivery appends
    assert [s.id for s in second.result.ledger.stakeholders] == ["h"]
    alone = import_jocf(_package((TX, _issuance())), None)
    assert {p.field for p in alone.result.problems} == {"securityholder_id", "stock_class_id"}


@pytest.mark.parametrize(
    ("object_type", "file_type"),
    [
        ("STAKEHOLDER", "OCF_STAKEHOLDERS_FILE"),
        ("STOCK_LEGEND_TEMPLATE", "OCF_STOCK_LEGEND_TEMPLATES_FILE"),
        ("MASTER_SECURITYHOLDERS_AGREEMENT", "JOCF_SECURITYHOLDERS_AGREEMENT_FILE"),
        ("TX_STOCK_ISSUANCE", "OCF_TRANSACTIONS_FILE"),
        (None, "OCF_TRANSACTIONS_FILE"),
    ],
)
def test_ocf_file_of_names_the_file_a_stored_item_belongs_in(object_type: str | None, file_type: str) -> None:
    assert ocf_file_of({"object_type": object_type}) == file_type


@pytest.mark.skipif(not SCHEMA.is_dir(), reason="shared JOCF data is absent")
def test_with_the_schema_a_repaired_sample_imports_and_says_which_errata_applied(tmp_path: Path) -> None:
    schema: JocfSchema = load_schema(SCHEMA)
    folder = write_repaired(SAMPLES / "stocktransfer", tmp_path / "p", {CLASSES: [COMMON]})
    result = import_jocf(read_jocf(folder), schema)

    assert result.ok, result.result.problems
    assert (result.schema_checked, result.errata) == (True, ERRATA)
    assert len(result.result.ledger.stakeholders) == 2
    # the schema's problem, in JOCF terms, replaces the structural check
    bad = import_jocf(_package((HOLDERS, {**HOLDER, "name": "H"})), schema)
    assert bad.result.problems == (Problem("h", "SECURITY_HOLDER", "name", "'H' is not of type 'object'"),)
