"""Every real OCF package imports (or is rejected with exactly its real defects) and exports back."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from captable import ConvertibleRule, replay
from captable.ocf import ImportResult, import_package, write_package
from captable.ocf.reader import read_package

OCF = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ocf"
pytestmark = pytest.mark.skipif(not OCF.is_dir(), reason="shared OCF data is absent")
FAR = date(2100, 1, 1)


def _positions(result: ImportResult) -> dict[str, tuple[str, object]]:
    state = replay(result.ledger, FAR, ConvertibleRule.AT_CAP)
    return {p.security_id: (p.stakeholder_id, p.quantity, p.fully_diluted) for p in state.positions}


def _round_trip(result: ImportResult, tmp_path: Path) -> None:
    for target in (tmp_path / "folder", tmp_path / "package.ocf.zip"):
        again = import_package(write_package(result.ledger, target))
        assert _positions(again) == _positions(result)
        # manifest-level defects (a missing file) are not carried over: the export lists what it writes
        assert set(again.problems) == {p for p in result.problems if p.object_type != "OCF_MANIFEST_FILE"}
        assert again.ledger == result.ledger


def _ids(result: ImportResult) -> set[tuple[str, str]]:
    return {(p.object_id, p.field) for p in result.problems}


def test_open_cap_format_samples(tmp_path: Path) -> None:
    result = import_package(OCF / "open-cap-format" / "samples" / "Manifest.ocf.json")
    missing_stk = {p.object_id for p in result.problems if "stakeholder 'stk_567890'" in p.reason}
    assert missing_stk == {
        "test-convertible-issuance-minimal",
        "test-convertible-custom-conversion-issuance-minimal",
        "test-convertible-issuance-all-fields",
        "test-safe-issuance-all-fields",
    }
    # The samples are one-of-each-type fixtures, not a consistent ledger: besides stk_567890 they refer to
    # other absent objects and reuse security ids. Every problem below is a real defect of the package.
    stakeholder_ids = {s.id for s in result.ledger.stakeholders}
    for problem in result.problems:
        if problem.field == "stakeholder_id":
            assert problem.reason.split("'")[1] not in stakeholder_ids
    # 100, plus the two convertible transfers of -867.53 (a transfer moves a positive amount).
    assert len(result.problems) == 102
    assert {p.object_id for p in result.problems if p.reason.endswith("must be greater than 0")} == {
        "test-convertible-transfer-minimal",
        "test-convertible-transfer-all-fields",
    }
    assert not [p for p in result.problems if p.object_type in ("STAKEHOLDER", "STOCK_CLASS", "OCF_MANIFEST_FILE")]
    _round_trip(result, tmp_path)


@pytest.mark.parametrize("form", ["samples", "issuance_aperture_science_inc.ocf.zip"])
def test_quickstart_tutorial(form: str, tmp_path: Path) -> None:
    result = import_package(OCF / "open-cap-format" / "docs" / "tutorials" / "quickstart" / form)
    # Upstream defect: the manifest lists ./Stakeholders.json, the file is Stakeholders.ocf.json.
    assert _ids(result) == {
        ("07450528-10c4-4f38-855b-defe92563546", "stakeholders_files[0].filepath"),
        ("issued-shares-to-jim", "stakeholder_id"),
    }
    assert replay(result.ledger, FAR).outstanding_shares == 5000
    _round_trip(result, tmp_path)


def test_options_tutorial_folder(tmp_path: Path) -> None:
    result = import_package(OCF / "open-cap-format" / "docs" / "tutorials" / "options" / "samples")
    assert result.version == (1, 2, 0)
    assert [w.field for w in result.warnings] == ["ocf_version"]  # "~~~ SAMPLE ~~~"
    # TX_PLAN_SECURITY_* (OCF 1.0 names) are read; the exercise names a resulting security never issued.
    assert _ids(result) == {("8efcfd8f-80fc-4f89-ae4f-1fd2c3c5cc2d", "resulting_security_ids")}
    state = replay(result.ledger, FAR)
    pool = state.pools["257e5da9-5268-465c-84be-f6d4d4703a9b"]
    assert (pool.reserved, pool.granted, pool.issued, pool.available) == (
        8_000_000,
        75_000,
        25_000,
        7_900_000,
    )
    _round_trip(result, tmp_path)


def test_options_tutorial_zip(tmp_path: Path) -> None:
    path = OCF / "open-cap-format" / "docs" / "tutorials" / "options" / "issuance_aperture_science_inc.ocf.zip"
    result = import_package(path)
    assert read_package(path).version == (1, 0, 0)
    # The zipped manifest (1.0.0-a3) lists ./Stakeholders.json and no plan or vesting files.
    assert Counter(p.field for p in result.problems) == {
        "stakeholder_id": 3,
        "stakeholders_files[0].filepath": 1,
        "stock_plan_id": 2,
        "vesting_terms_id": 1,
        "resulting_security_ids": 1,
    }
    _round_trip(result, tmp_path)


def test_acme_holdings_lifecycle(tmp_path: Path) -> None:
    result = import_package(OCF / "ocf-tools" / "sample_ocf_folders" / "acme_holdings_limited")
    assert result.version == (1, 1, 1)
    # Real defects: no stock plan file although grants name stock_plan_01; exercises name share issuances
    # that the package never issues.
    assert _ids(result) == {
        ("eci_01", "stock_plan_id"),
        ("eci_02", "stock_plan_id"),
        ("eci_03", "stock_plan_id"),
        *{(f"EXERCISE_0{i}", "resulting_security_ids") for i in range(1, 5)},
    }
    state = replay(result.ledger, date(2023, 6, 30))
    stock = {p.security_id: p.quantity for p in state.positions if p.kind == "STOCK"}
    assert stock == {
        "stock_issuance_05": 25_000,
        "stock_issuance_07": 80_000,
        "stock_issuance_11": 30_000,
        "stock_issuance_12": 10_000,
        "stock_issuance_preferred_balance_from_01": 15_000,
        "stock_issuance_b_04": 27_000,
        "stock_issuance_b_05": 23_000,
    }
    options = {p.security_id: p.quantity for p in state.positions if p.kind == "EQUITY_COMPENSATION"}
    assert options["equity_compensation_issuance_01"] == 360_000 - 2_000
    _round_trip(result, tmp_path)


def test_ocf_tools_test_package(tmp_path: Path) -> None:
    result = import_package(OCF / "ocf-tools" / "testing_scripts" / "testPackage")
    assert _ids(result) == {("eci_01", "stock_plan_id")}
    _round_trip(result, tmp_path)
