"""The per-request work limits resolvers enforce, built from the settings at the entry point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from captable.ocf.limits import PackageLimits


@dataclass(frozen=True)
class RequestLimits:
    # Rows all non-paginated list fields of one request may return together (`costs` under every alias, …).
    max_response_rows: int = 20_000
    # Bytes of an uploaded file (an `.ocf.zip`) once its base64 is decoded.
    max_upload_bytes: int = 10 * 1024 * 1024
    package: PackageLimits = field(default_factory=PackageLimits)
    # The JOCF JSON Schemas (CC BY-ND, read in place, never shipped); None: JOCF items are checked structurally.
    jocf_schema_dir: Path | None = None
