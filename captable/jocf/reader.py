"""Read a JOCF package: a folder, a ``.zip`` or one JSON file, each file a ``{file_type, items[]}`` object.

JOCF has no manifest: every ``*.json`` member whose ``file_type`` is a JOCF file type is read, in name order.
The OCF package limits apply (decompressed bytes, member count, JSON depth, names inside the package).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Any

from captable.errors import OcfPackageError
from captable.jocf.schema import FILE_SCHEMAS
from captable.ocf.limits import (
    JsonTooDeep,
    OcfLimitExceeded,
    PackageLimits,
    UnsafeMemberName,
    load_json,
    unsafe_path_reason,
)
from captable.ocf.reader import DEFAULT_LIMITS, RawItem, RawPackage
from captable.problems import Problem

FILE_TYPES = frozenset(FILE_SCHEMAS)
VERSION = (0, 0, 0)  # JOCF files carry no version


def read_jocf(path: str | Path, limits: PackageLimits = DEFAULT_LIMITS) -> RawPackage:
    path = Path(path)
    if path.is_dir():
        members = sorted(p for p in path.rglob("*.json") if p.is_file())
        _count(len(members), limits)
        budget = _Budget(limits)
        return _package([(p.relative_to(path).as_posix(), budget.read_file(p)) for p in members], limits)
    if zipfile.is_zipfile(path):
        return read_jocf_zip(path.read_bytes(), limits)
    if path.is_file():
        return _package([(path.name, _Budget(limits).read_file(path))], limits)
    raise OcfPackageError(f"{path} is neither a folder, a zip file nor a JOCF file")


def read_jocf_zip(data: bytes, limits: PackageLimits = DEFAULT_LIMITS) -> RawPackage:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise OcfPackageError(f"not a readable zip archive: {error}") from error
    with archive:
        infos = archive.infolist()
        _count(len(infos), limits)
        for info in infos:
            reason = unsafe_path_reason(info.filename)
            if reason is not None:
                raise UnsafeMemberName(f"member {info.filename!r} {reason}")
        budget = _Budget(limits)
        members = sorted(
            (i for i in infos if i.filename.endswith(".json") and not i.is_dir()), key=lambda i: i.filename
        )
        return _package([(i.filename, budget.read_member(archive, i)) for i in members], limits)


def _count(count: int, limits: PackageLimits) -> None:
    if count > limits.max_files:
        raise OcfLimitExceeded(f"the package has {count} files; at most {limits.max_files} are read", "files")


class _Budget:
    def __init__(self, limits: PackageLimits) -> None:
        self.limits = limits
        self.used = 0

    def _take(self, name: str, data: bytes) -> bytes:
        self.used += len(data)
        if self.used > self.limits.max_bytes:
            raise OcfLimitExceeded(
                f"{name!r} makes the package larger than {self.limits.max_bytes} decompressed bytes", "bytes"
            )
        return data

    def read_file(self, path: Path) -> bytes:
        with path.open("rb") as stream:
            return self._take(path.name, stream.read(self.limits.max_bytes - self.used + 1))

    def read_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        try:
            with archive.open(info) as stream:
                return self._take(info.filename, stream.read(self.limits.max_bytes - self.used + 1))
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as error:
            raise OcfPackageError(f"member {info.filename!r} cannot be read: {error}") from error


def _package(members: list[tuple[str, bytes]], limits: PackageLimits) -> RawPackage:
    items: list[RawItem] = []
    problems: list[Problem] = []
    files: dict[str, str] = {}
    for name, data in members:
        try:
            content: Any = load_json(data, limits.max_depth)
        except JsonTooDeep as error:
            raise OcfLimitExceeded(f"{name!r} nests JSON deeper than {error.max_depth} levels", "depth") from error
        except ValueError as error:
            problems.append(Problem(name, "JOCF_FILE", "(file)", f"not JSON: {error}"))
            continue
        file_type = content.get("file_type") if isinstance(content, dict) else None
        if file_type not in FILE_TYPES:
            problems.append(Problem(name, "JOCF_FILE", "file_type", f"{file_type!r} is not a JOCF file type"))
            continue
        raw_items = content.get("items")
        if not isinstance(raw_items, list):
            problems.append(Problem(name, str(file_type), "items", "the file has no items list"))
            continue
        files[name] = str(file_type)
        for position, item in enumerate(raw_items):
            if isinstance(item, dict):
                items.append(RawItem(str(file_type), name, item))
            else:
                problems.append(Problem(f"{name}#{position}", str(file_type), "items", "item is not a JSON object"))
    if not files and not problems:
        raise OcfPackageError("no JOCF file (a JSON object with a JOCF file_type) in the package")
    return RawPackage({}, VERSION, tuple(items), tuple(problems), (), files)
