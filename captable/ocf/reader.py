"""Read an OCF package (a folder, an ``.ocf.zip`` or a manifest path) into raw items.

The manifest governs: only the files it lists are read, relative to the manifest's own folder. A listed file
that is missing, not JSON, or of another ``file_type`` is a problem, not an exception. ``md5`` values are not
checked: upstream packages (including the official samples) carry placeholder hashes.

Versions: ``ocf_version`` 1.0.x to 1.2.x are accepted (pre-releases such as ``1.1.1-alpha+main`` included).
A parseable version outside that range is a problem; a placeholder that is no version at all (the tutorials
ship ``~~~ SAMPLE ~~~``) is only a warning, and the package is read as 1.2.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from captable.errors import OcfPackageError
from captable.problems import Problem

MANIFEST = "OCF_MANIFEST_FILE"
SUPPORTED = ((1, 0), (1, 2))
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")

# manifest key -> file_type its files must have
FILE_LISTS: dict[str, str] = {
    "stakeholders_files": "OCF_STAKEHOLDERS_FILE",
    "stock_classes_files": "OCF_STOCK_CLASSES_FILE",
    "stock_plans_files": "OCF_STOCK_PLANS_FILE",
    "vesting_terms_files": "OCF_VESTING_TERMS_FILE",
    "valuations_files": "OCF_VALUATIONS_FILE",
    "financings_files": "OCF_FINANCINGS_FILE",
    "transactions_files": "OCF_TRANSACTIONS_FILE",
    "stock_legend_templates_files": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
    "documents_files": "OCF_DOCUMENTS_FILE",
}


@dataclass(frozen=True, slots=True)
class RawItem:
    file_type: str
    filepath: str
    item: Mapping[str, Any]


@dataclass(frozen=True)
class RawPackage:
    manifest: Mapping[str, Any]
    version: tuple[int, int, int]
    items: tuple[RawItem, ...]
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)  # filepath -> file_type, in manifest order


def read_package(path: str | Path) -> RawPackage:
    """Read a package; raise :class:`OcfPackageError` only when no manifest can be read at all."""
    path = Path(path)
    if path.is_dir():
        return _read(
            _folder_opener(path),
            _find_manifest(
                [p.relative_to(path).as_posix() for p in path.rglob("*.json")], _folder_opener(path)
            ),
        )
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".json")]

            def opener(name: str) -> bytes:
                return archive.read(name)

            return _read(opener, _find_manifest(names, opener))
    if path.is_file():
        return _read(_folder_opener(path.parent), path.name)
    raise OcfPackageError(f"{path} is neither a folder, a zip file nor a manifest")


def _folder_opener(root: Path) -> Callable[[str], bytes]:
    def opener(name: str) -> bytes:
        return (root / name).read_bytes()

    return opener


def _find_manifest(names: list[str], opener: Callable[[str], bytes]) -> str:
    found = []
    for name in sorted(names, key=lambda n: (n.count("/"), n)):
        try:
            data = json.loads(opener(name))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("file_type") == MANIFEST:
            found.append(name)
    if not found:
        raise OcfPackageError("no file with file_type OCF_MANIFEST_FILE in the package")
    if len(found) > 1 and found[0].count("/") == found[1].count("/"):
        raise OcfPackageError(f"several manifests in the package: {found}")
    return found[0]


def _read(opener: Callable[[str], bytes], manifest_name: str) -> RawPackage:
    try:
        manifest = json.loads(opener(manifest_name))
    except (OSError, ValueError) as exc:
        raise OcfPackageError(f"unreadable manifest {manifest_name}: {exc}") from exc
    problems: list[Problem] = []
    warnings: list[Problem] = []
    manifest_id = str(manifest.get("issuer", {}).get("id", manifest_name))
    version = _version(manifest.get("ocf_version"), manifest_id, problems, warnings)
    base = PurePosixPath(manifest_name).parent
    items: list[RawItem] = []
    files: dict[str, str] = {}
    for key, file_type in FILE_LISTS.items():
        entries = manifest.get(key) or []
        for index, entry in enumerate(entries):
            where = f"{key}[{index}].filepath"
            filepath = entry.get("filepath") if isinstance(entry, dict) else None
            if not isinstance(filepath, str):
                problems.append(Problem(manifest_id, MANIFEST, where, "filepath is missing"))
                continue
            name = (base / PurePosixPath(filepath)).as_posix().removeprefix("./")
            name = str(PurePosixPath(name))
            try:
                data = json.loads(opener(name))
            except (OSError, KeyError):
                problems.append(
                    Problem(manifest_id, MANIFEST, where, f"file {filepath!r} is not in the package")
                )
                continue
            except ValueError as exc:
                problems.append(
                    Problem(manifest_id, MANIFEST, where, f"file {filepath!r} is not JSON: {exc}")
                )
                continue
            if not isinstance(data, dict) or data.get("file_type") != file_type:
                got = data.get("file_type") if isinstance(data, dict) else type(data).__name__
                problems.append(
                    Problem(
                        manifest_id,
                        MANIFEST,
                        where,
                        f"file {filepath!r} has file_type {got!r}, expected {file_type!r}",
                    )
                )
                continue
            files[filepath] = file_type
            raw_items = data.get("items")
            if not isinstance(raw_items, list):
                problems.append(Problem(manifest_id, MANIFEST, where, f"file {filepath!r} has no items list"))
                continue
            for position, item in enumerate(raw_items):
                if not isinstance(item, dict):
                    problems.append(
                        Problem(f"{filepath}#{position}", file_type, "items", "item is not a JSON object")
                    )
                    continue
                items.append(RawItem(file_type, filepath, item))
    return RawPackage(manifest, version, tuple(items), tuple(problems), tuple(warnings), files)


def _version(
    value: Any, manifest_id: str, problems: list[Problem], warnings: list[Problem]
) -> tuple[int, int, int]:
    match = _VERSION.match(value) if isinstance(value, str) else None
    if match is None:
        warnings.append(
            Problem(manifest_id, MANIFEST, "ocf_version", f"{value!r} is not a version; read as OCF 1.2")
        )
        return (1, 2, 0)
    major, minor, patch = (int(g) for g in match.groups())
    if not SUPPORTED[0] <= (major, minor) <= SUPPORTED[1]:
        problems.append(
            Problem(
                manifest_id, MANIFEST, "ocf_version", f"version {value} is not supported (1.0.x to 1.2.x)"
            )
        )
    return (major, minor, patch)
