"""How much work reading one package may cost: decompressed bytes, archive members and JSON nesting.

A package comes from a client, so a small archive may claim gigabytes (a zip bomb), hold a hundred thousand
members, name members outside the package (``../``) or nest JSON a thousand levels deep. Each of these is refused
as a whole with :class:`OcfLimitExceeded` (or :class:`UnsafeMemberName`) before the work is done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from captable.errors import OcfPackageError

Limit = Literal["bytes", "files", "depth"]


@dataclass(frozen=True)
class PackageLimits:
    max_bytes: int = 20 * 1024 * 1024  # decompressed, over every member read
    max_files: int = 1_000
    max_depth: int = 64


class OcfLimitExceeded(OcfPackageError):
    """The package asks for more work than :class:`PackageLimits` allows; `limit` says which one."""

    def __init__(self, message: str, limit: Limit) -> None:
        super().__init__(message)
        self.limit = limit


class UnsafeMemberName(OcfPackageError):
    """A member or manifest path that is absolute or leaves the package folder."""


class JsonTooDeep(ValueError):
    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def load_json(data: bytes | str, max_depth: int) -> Any:
    """`json.loads`, refusing nesting deeper than `max_depth` (arrays and objects count one level each)."""
    try:
        value = json.loads(data)
    except RecursionError as error:  # deeper than the interpreter's own limit
        raise JsonTooDeep(max_depth) from error
    if _deeper_than(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value


def _deeper_than(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def unsafe_path_reason(name: str) -> str | None:
    """Why `name` may not be a path inside a package, or None when it is a plain relative path."""
    if "\\" in name or "\x00" in name:
        return "contains a backslash or a NUL character"
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        return "is absolute"
    if ".." in path.parts:
        return "leaves the package folder (..)"
    return None
