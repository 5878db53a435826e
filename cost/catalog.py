"""The shape of an operator store's catalog (the JSON that :meth:`cost.store.CostStore.publish` writes).

Only the store writes it, so it is read back as these types without being checked field by field.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class FileEntry(TypedDict):
    path: str  # relative to the store root
    rows: int


# "import" is a keyword, hence the functional form.
PartitionEntry = TypedDict("PartitionEntry", {"import": str, "files": list[FileEntry]})

# "<period>/<account>" → catalog source → what that source currently has there.
Partitions = dict[str, dict[str, PartitionEntry]]


def add_file(partitions: Partitions, key: str, source: str, import_id: str, path: str, rows: int) -> None:
    """Append a file to what `source` has at partition `key`, starting the entry of `import_id` if it has none
    there (a large partition may be several files: cost.partitions)."""
    entry = partitions.setdefault(key, {}).setdefault(source, {"import": import_id, "files": []})
    entry["files"].append({"path": path, "rows": rows})


class RehomedRecord(TypedDict):
    source_period: str
    target_period: str
    rows: int


class ImportRecord(TypedDict):
    """A published single-file import, kept under its digest (see :class:`cost.imports.ImportResult`)."""

    sha256: NotRequired[str]  # records written before BLAKE3 (cost.digests): the key, which is then a SHA-256
    rows: int
    bytes: int
    periods: list[str]
    accounts: list[str]
    currency: str | None
    format: str
    source: str
    version: int
    rehomed: NotRequired[list[RehomedRecord]]  # absent in records written before late data existed


class Catalog(TypedDict):
    version: int
    imports: dict[str, ImportRecord]
    partitions: Partitions
    assemblies: NotRequired[dict[str, str]]  # "<catalog source>|<period>" → the assembly published there


class StagedFile(TypedDict):
    """One file an assembly part staged (see :func:`cost.assemblies.stage_part`), unpublished."""

    period: str
    account: str
    path: str  # relative to the store root
    rows: int


def empty_catalog() -> Catalog:
    return {"version": 0, "imports": {}, "partitions": {}}


def folders(partitions: Partitions) -> set[str]:
    """The import folders a catalog's partitions reference."""
    return {entry["import"] for sources in partitions.values() for entry in sources.values()}
