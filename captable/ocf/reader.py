"""Read an OCF package (a folder, an ``.ocf.zip`` or a manifest path) into raw items.

The manifest governs: only the files it lists are read, relative to the manifest's own folder. A listed file
that is missing, not JSON, or of another ``file_type`` is a problem, not an exception. ``md5`` values are not
checked: upstream packages (including the official samples) carry placeholder hashes.

Versions: ``ocf_version`` 1.0.x to 1.2.x are accepted (pre-releases such as ``1.1.1-alpha+main`` included).
A parseable version outside that range is a problem; a placeholder that is no version at all (the tutorials
ship ``~~~ SAMPLE ~~~``) is only a warning, and the package is read as 1.2.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from captable.errors import OcfPackageError
from captable.ocf.limits import (
    JsonTooDeep,
    OcfLimitExceeded,
    PackageLimits,
    UnsafeMemberName,
    load_json,
    unsafe_path_reason,
)
from captable.problems import Problem

MANIFEST = "OCF_MANIFEST_FILE"
DEFAULT_LIMITS = PackageLimits()
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


def read_package(path: str | Path, limits: PackageLimits = DEFAULT_LIMITS) -> RawPackage:
    """Read a package; raise :class:`OcfPackageError` only when no manifest can be read at all, or when the
    package exceeds `limits` (:class:`~captable.ocf.limits.OcfLimitExceeded`) or names a member outside itself."""
    path = Path(path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*.json")]
        _check_count(len(names), limits)
        opener = _Members(_folder_reader(path), limits)
        return _read(opener, _find_manifest(names, opener, limits), limits)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return _read_archive(archive, limits)
    if path.is_file():
        return _read(_Members(_folder_reader(path.parent), limits), path.name, limits)
    raise OcfPackageError(f"{path} is neither a folder, a zip file nor a manifest")


def read_zip(data: bytes, limits: PackageLimits = DEFAULT_LIMITS) -> RawPackage:
    """Read an ``.ocf.zip`` held in memory (nothing is extracted to disk)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise OcfPackageError(f"not a readable zip archive: {error}") from error
    with archive:
        return _read_archive(archive, limits)


def _read_archive(archive: zipfile.ZipFile, limits: PackageLimits) -> RawPackage:
    infos = archive.infolist()
    _check_count(len(infos), limits)
    for info in infos:
        reason = unsafe_path_reason(info.filename)
        if reason is not None:
            raise UnsafeMemberName(f"member {info.filename!r} {reason}")
    json_members = [i for i in infos if i.filename.endswith(".json") and not i.is_dir()]
    names = [i.filename for i in json_members]
    declared = sum(i.file_size for i in json_members)
    if declared > limits.max_bytes:
        raise OcfLimitExceeded(
            f"the archive's JSON members expand to {declared} bytes; at most {limits.max_bytes} are read", "bytes"
        )
    opener = _Members(_zip_reader(archive), limits)
    return _read(opener, _find_manifest(names, opener, limits), limits)


def _check_count(count: int, limits: PackageLimits) -> None:
    if count > limits.max_files:
        raise OcfLimitExceeded(f"the package has {count} files; at most {limits.max_files} are read", "files")


class _Members:
    """Reads each member once, and no more bytes in all than the limit allows (whatever headers claim)."""

    def __init__(self, read: Callable[[str, int], bytes], limits: PackageLimits) -> None:
        self._read = read
        self._limits = limits
        self._cache: dict[str, bytes] = {}
        self._used = 0

    def __call__(self, name: str) -> bytes:
        if name in self._cache:
            return self._cache[name]
        allowance = self._limits.max_bytes - self._used
        data = self._read(name, allowance)
        if len(data) > allowance:
            raise OcfLimitExceeded(
                f"{name!r} makes the package larger than {self._limits.max_bytes} decompressed bytes", "bytes"
            )
        self._used += len(data)
        self._cache[name] = data
        return data


def _zip_reader(archive: zipfile.ZipFile) -> Callable[[str, int], bytes]:
    def read(name: str, allowance: int) -> bytes:
        try:
            with archive.open(name) as stream:
                return stream.read(allowance + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as error:
            # encrypted, unsupported compression, corrupt data or CRC mismatch
            raise OcfPackageError(f"member {name!r} cannot be read: {error}") from error

    return read


def _folder_reader(root: Path) -> Callable[[str, int], bytes]:
    def read(name: str, allowance: int) -> bytes:
        with (root / name).open("rb") as stream:
            return stream.read(allowance + 1)

    return read


def _json(opener: Callable[[str], bytes], name: str, limits: PackageLimits) -> Any:
    try:
        return load_json(opener(name), limits.max_depth)
    except JsonTooDeep as error:
        raise OcfLimitExceeded(f"{name!r} nests JSON deeper than {error.max_depth} levels", "depth") from error


def _find_manifest(names: list[str], opener: Callable[[str], bytes], limits: PackageLimits) -> str:
    found = []
    for name in sorted(names, key=lambda n: (n.count("/"), n)):
        try:
            data = _json(opener, name, limits)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("file_type") == MANIFEST:
            found.append(name)
    if not found:
        raise OcfPackageError("no file with file_type OCF_MANIFEST_FILE in the package")
    if len(found) > 1 and found[0].count("/") == found[1].count("/"):
        raise OcfPackageError(f"several manifests in the package: {found}")
    return found[0]


def _read(opener: Callable[[str], bytes], manifest_name: str, limits: PackageLimits) -> RawPackage:
    try:
        manifest = _json(opener, manifest_name, limits)
    except (OSError, ValueError) as exc:
        raise OcfPackageError(f"unreadable manifest {manifest_name}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise OcfPackageError(f"manifest {manifest_name} is not a JSON object")
    issuer = manifest.get("issuer")
    manifest_id = str(issuer.get("id", manifest_name)) if isinstance(issuer, dict) else manifest_name
    listing = _Listing(opener, limits, manifest_id, PurePosixPath(manifest_name).parent)
    version = _version(manifest.get("ocf_version"), manifest_id, listing.problems, listing.warnings)
    for key, file_type in FILE_LISTS.items():
        entries = manifest.get(key) or []
        if not isinstance(entries, list):
            listing.problems.append(Problem(manifest_id, MANIFEST, key, "is not a list of files"))
            continue
        for index, entry in enumerate(entries):
            listing.read(f"{key}[{index}].filepath", entry, file_type)
    problems, warnings = tuple(listing.problems), tuple(listing.warnings)
    return RawPackage(manifest, version, tuple(listing.items), problems, warnings, listing.files)


@dataclass
class _Listing:
    """The files a manifest lists, read one entry at a time; what cannot be read becomes a problem."""

    opener: Callable[[str], bytes]
    limits: PackageLimits
    manifest_id: str
    base: PurePosixPath
    items: list[RawItem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def read(self, where: str, entry: object, file_type: str) -> None:
        filepath = entry.get("filepath") if isinstance(entry, dict) else None
        if not isinstance(filepath, str):
            return self._problem(where, "filepath is missing")
        unsafe = unsafe_path_reason(filepath)
        if unsafe is not None:
            return self._problem(where, f"filepath {filepath!r} {unsafe}")
        name = str(PurePosixPath((self.base / PurePosixPath(filepath)).as_posix().removeprefix("./")))
        try:
            data = _json(self.opener, name, self.limits)
        except (OSError, KeyError):
            return self._problem(where, f"file {filepath!r} is not in the package")
        except ValueError as exc:
            return self._problem(where, f"file {filepath!r} is not JSON: {exc}")
        if not isinstance(data, dict) or data.get("file_type") != file_type:
            got = data.get("file_type") if isinstance(data, dict) else type(data).__name__
            return self._problem(where, f"file {filepath!r} has file_type {got!r}, expected {file_type!r}")
        self.files[filepath] = file_type
        raw_items = data.get("items")
        if not isinstance(raw_items, list):
            return self._problem(where, f"file {filepath!r} has no items list")
        for position, item in enumerate(raw_items):
            if not isinstance(item, dict):
                self.problems.append(Problem(f"{filepath}#{position}", file_type, "items", "item is not a JSON object"))
                continue
            self.items.append(RawItem(file_type, filepath, item))
        return None

    def _problem(self, where: str, reason: str) -> None:
        self.problems.append(Problem(self.manifest_id, MANIFEST, where, reason))


def _version(value: Any, manifest_id: str, problems: list[Problem], warnings: list[Problem]) -> tuple[int, int, int]:
    match = _VERSION.match(value) if isinstance(value, str) else None
    if match is None:
        warnings.append(Problem(manifest_id, MANIFEST, "ocf_version", f"{value!r} is not a version; read as OCF 1.2"))
        return (1, 2, 0)
    major, minor, patch = (int(g) for g in match.groups())
    if not SUPPORTED[0] <= (major, minor) <= SUPPORTED[1]:
        problems.append(
            Problem(manifest_id, MANIFEST, "ocf_version", f"version {value} is not supported (1.0.x to 1.2.x)")
        )
    return (major, minor, patch)
