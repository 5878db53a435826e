"""Report manifests as AWS writes them beside the parts of an assembly.

Two shapes:

* legacy CUR ``<report>-Manifest.json``: ``assemblyId``, ``reportName``, ``billingPeriod {start, end}``
  (``20231101T000000.000Z``), ``bucket``, ``reportKeys`` (bucket-relative keys of the parts),
  ``columns [{category, name, type}]`` (the CSV header is ``category/name``), ``compression``;
* Data Exports (CUR 2.0, FOCUS) ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``:
  ``executionId``, ``dataFiles`` (``s3://bucket/key`` URIs), ``columns [{name, type}]``, ``billingPeriod``;
  the export name is the manifest's file name before ``-Manifest.json`` (``exportName`` when present).

:func:`parse_manifest` checks the document and returns a :class:`Manifest`; it never opens a part. Where a
part may be read is decided by the caller through the configured sources (:mod:`cost.locations`).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cost.errors import InputError

MANIFEST_SUFFIX = "-Manifest.json"
MAX_MANIFEST_BYTES = 16 << 20
MAX_PARTS = 10_000
_PERIOD_DIR = re.compile(r"BILLING_PERIOD=(\d{4}-(0[1-9]|1[0-2]))")
_TEXT_MAX = 500


class ManifestError(InputError):
    """A manifest that cannot be read as a CUR or Data Exports manifest, or does not match its parts."""


class ManifestKind(enum.StrEnum):
    LEGACY_CUR = "legacy-cur"
    DATA_EXPORTS = "data-exports"


@dataclass(frozen=True)
class Manifest:
    kind: ManifestKind
    assembly_key: str  # assemblyId / executionId: the same key twice is the same delivery
    report: str  # report name / export name: with the period, what a newer assembly replaces
    period: str  # YYYY-MM
    columns: tuple[str, ...]  # the header every part must have, as the file writes it
    parts: tuple[str, ...]  # legacy: bucket-relative keys; Data Exports: s3:// URIs
    bucket: str | None


def is_manifest(location: str) -> bool:
    return location.rsplit("/", 1)[-1].endswith(MANIFEST_SUFFIX)


def parse_manifest(data: bytes, location: str) -> Manifest:
    """The manifest at `location` (only named in errors), or :class:`ManifestError` saying what is wrong."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(location, f"a manifest is at most {MAX_MANIFEST_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ManifestError(location, "not a JSON manifest") from None
    if not isinstance(document, dict):
        raise ManifestError(location, "not a JSON manifest")
    if "reportKeys" in document or "assemblyId" in document:
        return _legacy(document, location)
    if "dataFiles" in document or "executionId" in document:
        return _data_exports(document, location)
    raise ManifestError(
        location, "neither a CUR manifest (assemblyId, reportKeys) nor a Data Exports manifest (executionId, dataFiles)"
    )


def _legacy(document: dict[str, Any], location: str) -> Manifest:
    columns = []
    for i, column in enumerate(_list(document, "columns", location)):
        if not isinstance(column, dict):
            raise ManifestError(location, f"columns[{i}] is not an object")
        category, name = column.get("category"), column.get("name")
        if not isinstance(category, str) or not isinstance(name, str) or not category or not name:
            raise ManifestError(location, f"columns[{i}] needs a category and a name")
        columns.append(f"{category}/{name}")
    return Manifest(
        kind=ManifestKind.LEGACY_CUR,
        assembly_key=_text(document, "assemblyId", location),
        report=_text(document, "reportName", location),
        period=_period(document, location),
        columns=_unique(columns, location),
        parts=_parts(document, "reportKeys", location),
        bucket=_optional_text(document, "bucket", location),
    )


def _data_exports(document: dict[str, Any], location: str) -> Manifest:
    columns = []
    for i, column in enumerate(_list(document, "columns", location)):
        name = column.get("name") if isinstance(column, dict) else None
        if not isinstance(name, str) or not name:
            raise ManifestError(location, f"columns[{i}] needs a name")
        columns.append(name)
    file_name = location.rsplit("/", 1)[-1]
    export = _optional_text(document, "exportName", location) or file_name.removesuffix(MANIFEST_SUFFIX)
    if not export or len(export) > _TEXT_MAX:
        raise ManifestError(location, "the export name is missing (exportName, or the file's name)")
    period = _period(document, location)
    directory = _PERIOD_DIR.search(location)
    if directory is not None and directory.group(1) != period:
        raise ManifestError(location, f"billingPeriod {period} differs from the folder's BILLING_PERIOD")
    return Manifest(
        kind=ManifestKind.DATA_EXPORTS,
        assembly_key=_text(document, "executionId", location),
        report=export,
        period=period,
        columns=_unique(columns, location),
        parts=_parts(document, "dataFiles", location),
        bucket=_optional_text(document, "bucket", location),
    )


def _list(document: dict[str, Any], key: str, location: str) -> list[Any]:
    value = document.get(key)
    if not isinstance(value, list) or not value:
        raise ManifestError(location, f"{key} must be a non-empty list")
    return value


def _parts(document: dict[str, Any], key: str, location: str) -> tuple[str, ...]:
    parts = _list(document, key, location)
    if len(parts) > MAX_PARTS:
        raise ManifestError(location, f"{key} lists more than {MAX_PARTS} parts")
    if not all(isinstance(p, str) and 0 < len(p) <= 2000 for p in parts):
        raise ManifestError(location, f"{key} must list the parts as strings")
    if len(set(parts)) != len(parts):
        raise ManifestError(location, f"{key} lists a part twice")
    return tuple(parts)


def _unique(columns: list[str], location: str) -> tuple[str, ...]:
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ManifestError(location, "columns lists this column twice", column=name)
        seen.add(name)
    return tuple(columns)


def _text(document: dict[str, Any], key: str, location: str) -> str:
    value = _optional_text(document, key, location)
    if value is None:
        raise ManifestError(location, f"{key} is missing")
    return value


def _optional_text(document: dict[str, Any], key: str, location: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _TEXT_MAX or not value.isprintable():
        raise ManifestError(location, f"{key} must be a short text")
    return value.strip()


def _period(document: dict[str, Any], location: str) -> str:
    period = document.get("billingPeriod")
    start = period.get("start") if isinstance(period, dict) else None
    if not isinstance(start, str):
        raise ManifestError(location, "billingPeriod.start is missing")
    for form in ("%Y%m%dT%H%M%S.%fZ", "%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(start, form).strftime("%Y-%m")
        except ValueError:
            continue
    raise ManifestError(location, "billingPeriod.start is not a timestamp such as 20231101T000000.000Z")
