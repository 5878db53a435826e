"""The OCF samples and packages of ../shared/data/ocf (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

OCF = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ocf"
SAMPLES = OCF / "open-cap-format" / "samples"
ACME = OCF / "ocf-tools" / "sample_ocf_folders" / "acme_holdings_limited"
OPTIONS_ZIP = OCF / "open-cap-format" / "docs" / "tutorials" / "options" / "issuance_aperture_science_inc.ocf.zip"
