"""Importing a read package: items that fail validation are left out of the ledger and reported, what depends
on them is reported under their root cause, and a clean package yields exactly its ledger."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from captable.causes import ProblemGroup, Rejected
from captable.events import Issuer
from captable.ocf.importer import ImportResult, import_package, import_raw, rejected_item
from captable.ocf.reader import RawItem, RawPackage
from captable.problems import Problem
from resolvers.captable.ledgers import ledger_from_items
from tests.plugins.captable import basic_ledger, issue, series_a, transfer
from tests.plugins.ocf_samples import ACME

_FILES = {
    "STAKEHOLDER": "OCF_STAKEHOLDERS_FILE",
    "STOCK_CLASS": "OCF_STOCK_CLASSES_FILE",
    "STOCK_PLAN": "OCF_STOCK_PLANS_FILE",
    "FINANCING": "OCF_FINANCINGS_FILE",
    "STOCK_LEGEND_TEMPLATE": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
}
ISSUER = {"id": "co", "legal_name": "Co K.K."}
BAD_QUANTITY = Problem("i-bad", "TX_STOCK_ISSUANCE", "quantity", "'1,000' is not a numeric string")
DEPENDS = Problem(
    "t-bad",
    "TX_STOCK_TRANSFER",
    "security_id",
    "depends on security 'cs-bad', whose issuance 'i-bad' was rejected (see its problems)",
)


def _package(items: Iterable[dict[str, Any]], version: tuple[int, int, int] = (1, 2, 0)) -> RawPackage:
    raw = tuple(RawItem(_FILES.get(i["object_type"], "OCF_TRANSACTIONS_FILE"), "f.json", i) for i in items)
    return RawPackage({"issuer": ISSUER}, version, raw)


def _with_a_bad_issuance() -> list[dict[str, Any]]:
    return [
        *basic_ledger(),
        issue("i-bad", "cs-bad", "bob", "1,000", "2024-02-01"),
        transfer("t-bad", "cs-bad", "10", "2024-03-01", ["cs-x"]),
        issue("i-x", "cs-x", "alice", "10", "2024-03-01"),
    ]


def test_a_clean_package_imports_to_exactly_its_ledger() -> None:
    items = [*basic_ledger(), *series_a()]
    result = import_raw(_package(items))

    assert result.ok
    assert (result.problems, result.groups, result.changes, result.version) == ((), (), (), (1, 2, 0))
    assert result.ledger == ledger_from_items([{"object_type": "ISSUER", **ISSUER}, *items])
    assert result.ledger.issuer == Issuer("co", "Co K.K.")


def test_a_rejected_item_is_left_out_and_its_dependant_reported_under_it() -> None:
    result = import_raw(_package(_with_a_bad_issuance()))

    assert not result.ok
    assert result.problems == (BAD_QUANTITY, DEPENDS)
    assert result.groups == (ProblemGroup("i-bad", "TX_STOCK_ISSUANCE", (BAD_QUANTITY,), (DEPENDS,)),)
    assert [e.id for e in result.ledger.events] == ["i-alice", "i-bob", "t-bad", "i-x"]
    assert "cs-bad" not in result.ledger.issuance_by_security_id


def test_a_problem_of_an_earlier_stage_is_reported_and_its_item_counts_as_rejected() -> None:
    prior = Problem("i-bob", "TX_STOCK_ISSUANCE", "(item)", "schema says no")
    spent = transfer("t-bob", "cs-bob", "10", "2024-03-01", ["cs-y"])
    received = issue("i-y", "cs-y", "alice", "10", "2024-03-01")
    items = [i for i in basic_ledger() if i["id"] != "i-bob"] + [spent, received]
    result = import_raw(_package(items), [prior], [Rejected("i-bob", "TX_STOCK_ISSUANCE", "cs-bob")])

    assert result.problems[0] == prior
    dependant = next(p for p in result.problems if p.object_id == "t-bob")
    assert "whose issuance 'i-bob' was rejected" in dependant.reason
    assert [g.root_id for g in result.groups] == ["i-bob"]


def test_passthrough_items_are_validated_and_kept_whole() -> None:
    legend = {"object_type": "STOCK_LEGEND_TEMPLATE", "id": "lg", "name": "Legend", "text": "Restricted"}
    result = import_raw(_package([*basic_ledger(), legend, {**legend, "id": "lg-2", "text": 7}]))

    assert result.problems == (Problem("lg-2", "STOCK_LEGEND_TEMPLATE", "text", "expected a string, got int"),)
    kept = result.ledger.passthrough["OCF_STOCK_LEGEND_TEMPLATES_FILE"]
    assert [i["id"] for i in kept] == ["lg", "lg-2"]


def test_a_manifest_without_an_issuer_gives_a_placeholder_issuer() -> None:
    raw = RawPackage({}, (1, 2, 0), tuple(RawItem("OCF_STAKEHOLDERS_FILE", "f", i) for i in basic_ledger()[:1]))
    assert import_raw(raw).ledger.issuer == Issuer("issuer", "")


@pytest.mark.parametrize(
    ("item", "rejected"),
    [
        (issue("i", "cs-1", "alice", "1", "2024-01-01"), Rejected("i", "TX_STOCK_ISSUANCE", "cs-1")),
        (transfer("t", "cs-1", "1", "2024-01-01", []), Rejected("t", "TX_STOCK_TRANSFER", None)),
        ({"object_type": "STAKEHOLDER"}, Rejected("?", "STAKEHOLDER", None)),
        ({"object_type": "TX_STOCK_ISSUANCE", "id": "i", "security_id": 5}, Rejected("i", "TX_STOCK_ISSUANCE", None)),
    ],
)
def test_rejected_item_names_the_security_only_an_issuance_creates(item: dict[str, Any], rejected: Rejected) -> None:
    assert rejected_item(item) == rejected


def test_ok_is_false_exactly_when_there_is_a_problem() -> None:
    empty = import_raw(_package([]))
    assert empty.ok
    assert not ImportResult(empty.ledger, (BAD_QUANTITY,)).ok


@pytest.mark.skipif(not ACME.is_dir(), reason="shared OCF data is absent")
def test_a_real_folder_imports_with_its_version_manifest_and_package() -> None:
    result = import_package(ACME)

    assert result.version == (1, 1, 1)
    assert result.manifest["issuer"]["id"] == "acmeHoldingLimited"
    assert result.package is not None
    assert len(result.package.items) == 50
    assert len(result.ledger.stakeholders) == 4
    assert {g.root_id for g in result.groups} >= {"eci_01", "eci_02", "eci_03"}
    assert sorted(p for g in result.groups for p in (*g.causes, *g.dependants)) == sorted(result.problems)
