"""Finding the manifests AWS wrote under a registered report prefix, without listing the parts.

Two layouts, by the report's format:

* legacy CUR: ``<prefix>/<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`` (the period folder's manifest is
  the current delivery; the copies under ``<assemblyId>/`` folders are history and not read);
* Data Exports (CUR 2.0, FOCUS): ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json``.

Listing walks three folder levels, never recursively (a month's parts can be thousands of objects), and
returns each manifest's location in the terms of the registered prefix (so that it resolves again through
the configured sources) and its last-modified time.
"""

from __future__ import annotations

import enum
import logging
import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow.fs as pafs

from cost.errors import SourceError, SourceUnavailable
from cost.locations import ResolvedFolder
from cost.manifests import MANIFEST_SUFFIX, ManifestKind

_RANGE = re.compile(r"\d{8}-\d{8}")
_PERIOD = re.compile(r"BILLING_PERIOD=\d{4}-(0[1-9]|1[0-2])")
MAX_MANIFESTS = 1_000
_logger = logging.getLogger("roundpool.cost.sources")


class ReportFormat(enum.StrEnum):  # the GraphQL enum ReportSourceFormat (named by member: CUR_2_0, AWS's "CUR 2.0")
    LEGACY_CUR = "legacy-cur"
    CUR_2_0 = "cur2"
    FOCUS = "focus"

    @property
    def manifest_kind(self) -> ManifestKind:
        return ManifestKind.LEGACY_CUR if self is ReportFormat.LEGACY_CUR else ManifestKind.DATA_EXPORTS


@dataclass(frozen=True)
class ListedManifest:
    location: str
    modified: datetime | None


def list_manifests(folder: ResolvedFolder, report_format: ReportFormat) -> list[ListedManifest]:
    """The current manifests under `folder`, oldest first (blocking: call it on a thread).

    A store that does not answer → :class:`~cost.errors.SourceUnavailable` (logged, quoting nothing of it).
    """
    try:
        return _list(folder, report_format)
    except OSError:
        _logger.warning("report source %s could not be listed", folder.location, exc_info=True)
        raise SourceUnavailable(f"cost source {folder.source!r} could not be listed; see the server's log") from None


def _list(folder: ResolvedFolder, report_format: ReportFormat) -> list[ListedManifest]:
    fs = folder.filesystem
    found: list[ListedManifest] = []
    for report in _folders(fs, folder.path):
        if report_format is ReportFormat.LEGACY_CUR:
            periods = [p for p in _folders(fs, report.path) if _RANGE.fullmatch(p.base_name)]
        else:
            periods = [p for p in _folders(fs, f"{report.path}/metadata") if _PERIOD.fullmatch(p.base_name)]
        for period in periods:
            manifest = fs.get_file_info(f"{period.path}/{report.base_name}{MANIFEST_SUFFIX}")
            if manifest.type != pafs.FileType.File:
                continue
            relative = posixpath.relpath(manifest.path, folder.path)
            modified = manifest.mtime.astimezone(UTC) if manifest.mtime is not None else None
            found.append(ListedManifest(f"{folder.location}/{relative}", modified))
            if len(found) > MAX_MANIFESTS:
                raise SourceError(f"more than {MAX_MANIFESTS} current manifests under {folder.location}")
    return sorted(found, key=lambda m: (m.modified or datetime.min.replace(tzinfo=UTC), m.location))


def _folders(fs: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted((i for i in infos if i.type == pafs.FileType.Directory), key=lambda i: i.base_name)
