"""Move a store of the single-catalog layout (before revision 0008) to one store per operator.

The old layout kept every operator's imports under one root catalog (``<root>/_catalog``, ``<root>/imports``).
Each import is attributed to the operator whose manifest (``cost_imports``: tenant = operator, digest,
status succeeded) published it; the caller reads that from the database and passes ``owners``. An import's
folder is found from the catalog's own history: the version an import published (its record's ``version``)
is the only one whose partitions gained that folder. Folders are moved (renamed locally; copied then
deleted on an object store) to ``<root>/operators/<uuid>/imports/<id>``: their catalog paths are relative to
the store root, so they stay valid. Then each operator's catalog is published (merged with what the
operator imported since), and last the old ``HEAD`` is renamed ``HEAD.migrated``: a crash anywhere leaves a
state that running the migration again completes. An import no operator claims stays where it is, unread,
and is reported.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from uuid import UUID

import pyarrow.fs as pafs

from cost.catalog import Catalog, ImportRecord, Partitions, folders
from cost.store import CATALOG_DIR, IMPORTS_DIR, CostStore

_VERSION = re.compile(r"^v-(\d{8})-[0-9a-f]+\.json$")


@dataclass(frozen=True)
class StoreMigration:
    imports: dict[UUID, int]  # operator → imports moved into its store
    unattributed: tuple[str, ...]  # digests of imports left in the old root (no operator claims them)


def migrate_store(root: CostStore, owners: Mapping[str, UUID]) -> StoreMigration:
    """Split ``root``'s old single catalog into per-operator stores (see the module docstring); a no-op when
    the root holds no old catalog. ``owners``: digest → the operator whose import published it."""
    if not root.has_legacy_catalog():
        return StoreMigration({}, ())
    fs = root.filesystem
    catalog = root.catalog()
    folder_of_sha = _folders_by_sha(root, catalog)
    operator_of_folder = {folder: owners[sha] for sha, folder in folder_of_sha.items() if sha in owners}
    records: dict[UUID, dict[str, ImportRecord]] = defaultdict(dict)
    for sha, record in catalog["imports"].items():
        if sha in owners:
            records[owners[sha]][sha] = record
    partitions: dict[UUID, Partitions] = defaultdict(lambda: defaultdict(dict))
    for key, sources in catalog["partitions"].items():
        for source, entry in sources.items():
            operator = operator_of_folder.get(entry["import"])
            if operator is not None:
                partitions[operator][key][source] = entry
    moved: list[str] = []
    for operator in sorted(records.keys() | partitions.keys(), key=str):
        target = root.for_operator(operator)
        for folder in sorted(folders(partitions[operator])):
            _move(root, f"{IMPORTS_DIR}/{folder}", target)
            moved.append(folder)
        current = target.catalog()
        merged: Partitions = {key: dict(sources) for key, sources in partitions[operator].items()}
        for key, sources in current["partitions"].items():
            merged.setdefault(key, {}).update(sources)  # what the operator imported since wins
        target.publish(
            {
                **current,
                "imports": {**records[operator], **current["imports"]},
                "partitions": merged,
            }
        )
    head = f"{root.root}/{CATALOG_DIR}/HEAD"
    if root.is_local:
        fs.move(head, f"{head}.migrated")  # rename(2): the old catalog is retired at once
    else:
        _copy_then_delete(fs, head, f"{head}.migrated")
    for folder in moved:
        source = f"{root.root}/{IMPORTS_DIR}/{folder}"
        if fs.get_file_info(source).type == pafs.FileType.Directory:
            fs.delete_dir(source)
    unattributed = tuple(sorted(sha for sha in catalog["imports"] if sha not in owners))
    return StoreMigration(
        {operator: len(shas) for operator, shas in records.items()},
        unattributed,
    )


def _folders_by_sha(root: CostStore, catalog: Catalog) -> dict[str, str]:
    """digest → import folder, from the catalog versions: the folder that the import's version added."""
    versions = _versions(root)
    out = {}
    for sha, record in catalog["imports"].items():
        version = int(record.get("version", 0))
        published, before = versions.get(version), versions.get(version - 1)
        if published is None or sha not in published.get("imports", {}):
            continue
        added = folders(published["partitions"]) - (set() if before is None else folders(before["partitions"]))
        if len(added) == 1:
            out[sha] = added.pop()
    return out


def _versions(root: CostStore) -> dict[int, Catalog]:
    selector = pafs.FileSelector(f"{root.root}/{CATALOG_DIR}", allow_not_found=True)
    out: dict[int, Catalog] = {}
    for info in root.filesystem.get_file_info(selector):
        match = _VERSION.match(info.base_name)
        if info.type == pafs.FileType.File and match:
            with root.filesystem.open_input_stream(info.path) as handle:
                out[int(match.group(1))] = cast(Catalog, json.loads(handle.read()))  # written by CostStore.publish
    return out


def _move(root: CostStore, relative: str, target: CostStore) -> None:
    fs = root.filesystem
    source, destination = f"{root.root}/{relative}", f"{target.root}/{relative}"
    if fs.get_file_info(source).type != pafs.FileType.Directory:
        return  # moved by an earlier, interrupted run
    fs.create_dir(destination.rsplit("/", 1)[0], recursive=True)
    if root.is_local:
        if fs.get_file_info(destination).type == pafs.FileType.Directory:
            fs.delete_dir(destination)  # a partial copy of an interrupted run
        fs.move(source, destination)
    else:
        pafs.copy_files(source, destination, source_filesystem=fs, destination_filesystem=fs)


def _copy_then_delete(fs: pafs.FileSystem, source: str, destination: str) -> None:
    pafs.copy_files(source, destination, source_filesystem=fs, destination_filesystem=fs)
    fs.delete_file(source)
