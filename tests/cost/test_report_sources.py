"""Listing the current manifests under a report prefix on S3 (moto on loopback) in both AWS layouts, and the
prefix check that registration relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from cost.errors import LocationRefused
from cost.locations import CostSources, source_from_config
from cost.report_sources import ReportFormat, list_manifests
from tests.plugins.s3server import moto_s3, s3_client


def test_manifests_are_listed_in_both_layouts_without_reading_parts(tmp_path: Path) -> None:
    pytest.importorskip("moto.server")
    pytest.importorskip("boto3")
    secret = tmp_path / "secret"
    secret.write_text("testing")
    with moto_s3() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="billing")
        for key in (
            "reports/cur/alpha/20231101-20231201/alpha-Manifest.json",
            "reports/cur/alpha/20231101-20231201/a1/alpha-Manifest.json",  # history, not current
            "reports/cur/alpha/20231101-20231201/a1/alpha-1.csv.gz",
            "reports/cur/alpha/20231201-20240101/alpha-Manifest.json",
            "reports/cur/alpha/notes/alpha-Manifest.json",  # not a period folder
            "reports/cur/beta/20231101-20231201/beta-1.csv.gz",  # parts, manifest not written yet
            "reports/exports/focus/metadata/BILLING_PERIOD=2024-09/focus-Manifest.json",
            "reports/exports/focus/data/BILLING_PERIOD=2024-09/focus-00001.csv.gz",
            "elsewhere/cur/gamma/20231101-20231201/gamma-Manifest.json",
        ):
            client.put_object(Bucket="billing", Key=key, Body=b"{}")
        source = source_from_config(
            name="bucket",
            url="s3://billing/reports",
            endpoint=f"http://{endpoint}",
            region="us-east-1",
            access_key_id="testing",
            secret_access_key_file=secret,
        )
        sources = CostSources((source,))

        legacy = list_manifests(sources.resolve_folder("s3://billing/reports/cur/", "op"), ReportFormat.LEGACY_CUR)
        assert sorted(m.location for m in legacy) == [
            "s3://billing/reports/cur/alpha/20231101-20231201/alpha-Manifest.json",
            "s3://billing/reports/cur/alpha/20231201-20240101/alpha-Manifest.json",
        ]
        assert all(m.modified is not None for m in legacy)
        exports = list_manifests(sources.resolve_folder("s3://billing/reports/exports", "op"), ReportFormat.FOCUS)
        assert [m.location for m in exports] == [
            "s3://billing/reports/exports/focus/metadata/BILLING_PERIOD=2024-09/focus-Manifest.json"
        ]
        assert sources.resolve(exports[0].location, "op").size == 2  # what the sync then reads

        for outside in (
            "s3://billing/elsewhere",
            "s3://billing/reportsx",
            "s3://other/reports",
            "s3://billing",
            "s3://billing/reports/../elsewhere",
            f"http://{endpoint}/billing/reports",
        ):
            with pytest.raises(LocationRefused):
                sources.resolve_folder(outside, "op")
