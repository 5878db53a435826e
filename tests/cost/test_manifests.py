"""cost/manifests.py: a CUR or Data Exports manifest parsed into what an assembly needs, or refused precisely."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cost.manifests import MAX_PARTS, Manifest, ManifestError, ManifestKind, is_manifest, parse_manifest

LEGACY_AT = "s3://billing/cur/report/20231101-20231201/report-Manifest.json"
EXPORT_AT = "s3://billing/exports/focus/metadata/BILLING_PERIOD=2024-09/focus-Manifest.json"


def _legacy(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "assemblyId": "a1",
        "reportName": "report",
        "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        "columns": [
            {"category": "lineItem", "name": "UsageAccountId", "type": "String"},
            {"category": "lineItem", "name": "UnblendedCost", "type": "BigDecimal"},
        ],
        "reportKeys": [
            "cur/report/20231101-20231201/a1/report-1.csv.gz",
            "cur/report/20231101-20231201/a1/report-2.csv.gz",
        ],
        "bucket": "billing",
    }
    return document | changes


def _export(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "executionId": "e1",
        "billingPeriod": {"start": "2024-09-01T00:00:00.000Z", "end": "2024-10-01T00:00:00.000Z"},
        "columns": [{"name": "BilledCost", "type": "decimal"}, {"name": "SubAccountId", "type": "string"}],
        "dataFiles": ["s3://billing/exports/focus/data/BILLING_PERIOD=2024-09/part-0.parquet"],
        "bucket": "billing",
    }
    return document | changes


def _parse(document: Any, location: str = LEGACY_AT) -> Manifest:
    return parse_manifest(json.dumps(document).encode(), location)


def _refusal(document: Any, location: str = LEGACY_AT) -> ManifestError:
    with pytest.raises(ManifestError) as refused:
        _parse(document, location)
    assert refused.value.file == location
    return refused.value


def test_is_manifest_looks_at_the_file_name_only() -> None:
    assert is_manifest(LEGACY_AT)
    assert is_manifest("/srv/reports/focus-Manifest.json")
    assert not is_manifest("s3://billing/cur/report-Manifest.json/part-1.csv")
    assert not is_manifest("s3://billing/cur/report-manifest.json")


def test_a_legacy_manifest_gives_its_delivery_columns_and_parts() -> None:
    manifest = _parse(_legacy())
    assert manifest == Manifest(
        kind=ManifestKind.LEGACY_CUR,
        assembly_key="a1",
        report="report",
        period="2023-11",
        columns=("lineItem/UsageAccountId", "lineItem/UnblendedCost"),
        parts=(
            "cur/report/20231101-20231201/a1/report-1.csv.gz",
            "cur/report/20231101-20231201/a1/report-2.csv.gz",
        ),
        bucket="billing",
    )


def test_a_data_export_is_named_by_its_file_and_checked_against_its_folder() -> None:
    manifest = _parse(_export(), EXPORT_AT)
    assert (manifest.kind, manifest.assembly_key, manifest.report, manifest.period) == (
        ManifestKind.DATA_EXPORTS,
        "e1",
        "focus",
        "2024-09",
    )
    assert manifest.columns == ("BilledCost", "SubAccountId")
    assert _parse(_export(exportName="named"), EXPORT_AT).report == "named"
    moved = _refusal(_export(), EXPORT_AT.replace("2024-09", "2024-08"))
    assert moved.reason == "billingPeriod 2024-09 differs from the folder's BILLING_PERIOD"


def test_a_utf8_bom_and_the_other_period_forms_are_read() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(_legacy()).encode()
    assert parse_manifest(data, LEGACY_AT).period == "2023-11"
    for start in ("20231101T000000Z", "2023-11-01T00:00:00Z", "2023-11-01"):
        assert _parse(_legacy(billingPeriod={"start": start})).period == "2023-11"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([1, 2], "not a JSON manifest"),
        (
            {"columns": []},
            "neither a CUR manifest (assemblyId, reportKeys) nor a Data Exports manifest (executionId, dataFiles)",
        ),
        (_legacy(assemblyId=None), "assemblyId is missing"),
        (_legacy(reportName="  "), "reportName must be a short text"),
        (_legacy(reportName="a\nb"), "reportName must be a short text"),
        (
            _legacy(billingPeriod={"start": "November"}),
            "billingPeriod.start is not a timestamp such as 20231101T000000.000Z",
        ),
        (_legacy(billingPeriod=None), "billingPeriod.start is missing"),
        (_legacy(columns=[]), "columns must be a non-empty list"),
        (_legacy(columns=["lineItem/UsageAccountId"]), "columns[0] is not an object"),
        (_legacy(columns=[{"category": "lineItem"}]), "columns[0] needs a category and a name"),
        (_legacy(reportKeys=["a", "a"]), "reportKeys lists a part twice"),
        (_legacy(reportKeys=["a", 7]), "reportKeys must list the parts as strings"),
        (_legacy(reportKeys=[f"p{i}" for i in range(MAX_PARTS + 1)]), f"reportKeys lists more than {MAX_PARTS} parts"),
        (_export(columns=[{"type": "string"}]), "columns[0] needs a name"),
        (_export(dataFiles="s3://billing/part-0.parquet"), "dataFiles must be a non-empty list"),
    ],
)
def test_a_malformed_manifest_is_refused_with_what_is_wrong(document: Any, reason: str) -> None:
    assert _refusal(document).reason == reason


def test_a_duplicated_column_is_refused_naming_it() -> None:
    twice = {"category": "lineItem", "name": "UnblendedCost"}
    refused = _refusal(_legacy(columns=[twice, twice]))
    assert (refused.reason, refused.column) == ("columns lists this column twice", "lineItem/UnblendedCost")


def test_bytes_that_are_not_json_or_too_many_are_refused() -> None:
    with pytest.raises(ManifestError, match="not a JSON manifest"):
        parse_manifest(b"\xff\xfe{", LEGACY_AT)
    with pytest.raises(ManifestError, match="a manifest is at most"):
        parse_manifest(b" " * ((16 << 20) + 1), LEGACY_AT)
