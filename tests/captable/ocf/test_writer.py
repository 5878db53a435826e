"""Writing a ledger as OCF 1.2: one file per non-empty group, a manifest with real md5 sums, and a package the
reader reads back to the same ledger (folder and zip alike)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from captable.ledger import Ledger
from captable.ocf.importer import import_package
from captable.ocf.reader import read_package
from captable.ocf.writer import OCF_VERSION, package_files, write_package
from resolvers.captable.ledgers import ledger_from_items
from tests.plugins.captable import basic_ledger, series_a

ISSUER = {"object_type": "ISSUER", "id": "co", "legal_name": "Co K.K."}


@pytest.fixture
def ledger() -> Ledger:
    return ledger_from_items([ISSUER, *basic_ledger(), *series_a()])


def test_the_manifest_lists_each_written_file_with_its_md5(ledger: Ledger) -> None:
    files = package_files(ledger)

    assert set(files) == {
        "Manifest.ocf.json",
        "Stakeholders.ocf.json",
        "StockClasses.ocf.json",
        "StockPlans.ocf.json",
        "Financings.ocf.json",
        "Transactions.ocf.json",
    }
    manifest = json.loads(files["Manifest.ocf.json"])
    assert (manifest["file_type"], manifest["ocf_version"], OCF_VERSION) == ("OCF_MANIFEST_FILE", "1.2.0", "1.2.0")
    assert manifest["issuer"] == ISSUER
    assert manifest["as_of"] == "2024-06-01"  # the last event's date when none is given
    assert manifest["stakeholders_files"] == [
        {"filepath": "./Stakeholders.ocf.json", "md5": hashlib.md5(files["Stakeholders.ocf.json"]).hexdigest()}
    ]
    for key in ("vesting_terms_files", "valuations_files", "stock_legend_templates_files", "documents_files"):
        assert manifest[key] == []  # nothing to write, no empty file
    transactions = json.loads(files["Transactions.ocf.json"])
    assert transactions["file_type"] == "OCF_TRANSACTIONS_FILE"
    assert [i["id"] for i in transactions["items"]] == ["i-alice", "i-bob", "pool-topup", "i-fund"]


def test_as_of_is_the_date_given(ledger: Ledger) -> None:
    manifest = json.loads(package_files(ledger, date(2030, 12, 31))["Manifest.ocf.json"])
    assert manifest["as_of"] == "2030-12-31"


def test_passthrough_items_are_written_in_their_own_file() -> None:
    legend = {"object_type": "STOCK_LEGEND_TEMPLATE", "id": "lg", "name": "Legend", "text": "Restricted"}
    ledger = ledger_from_items([ISSUER, *basic_ledger(), legend])
    files = package_files(ledger)
    assert json.loads(files["StockLegends.ocf.json"]) == {
        "file_type": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
        "items": [legend],
    }


def test_a_zip_name_writes_an_archive_and_anything_else_a_folder(ledger: Ledger, tmp_path: Path) -> None:
    archive = write_package(ledger, tmp_path / "out.ocf.zip")
    folder = write_package(ledger, tmp_path / "nested" / "out")

    with zipfile.ZipFile(archive) as zipped:
        names = sorted(zipped.namelist())
    assert names == sorted(p.name for p in folder.iterdir())
    assert (folder / "Stakeholders.ocf.json").read_bytes() == package_files(ledger)["Stakeholders.ocf.json"]


@pytest.mark.parametrize("target", ["folder", "package.ocf.zip"])
def test_what_is_written_reads_back_to_the_same_ledger(ledger: Ledger, tmp_path: Path, target: str) -> None:
    path = write_package(ledger, tmp_path / target)

    raw = read_package(path)
    assert (raw.version, raw.problems, raw.warnings) == ((1, 2, 0), (), ())
    result = import_package(path)
    assert result.ok, result.problems
    assert result.ledger == ledger
    assert result.ledger.issuer == ledger.issuer
