"""The Parquet cost store: one store per operator, each made of per-import version folders plus one
atomically replaced catalog pointer.

Layout under the root (a local folder or any URI ``pyarrow.fs`` understands, e.g. ``s3://bucket/prefix``)::

    operators/<operator uuid>/imports/<import id>/billing_period=2023-11/sub_account_id=123456789012/part-0.parquet
    (part-1, … when a large import closed a partition's file early to bound its memory: cost.partitions)
    operators/<operator uuid>/_catalog/v-00000042-<random>.json     immutable catalog versions
    operators/<operator uuid>/_catalog/HEAD                         name of the current catalog version

Account ids are unique per operator only, so nothing is shared between operators: partitions, catalog,
duplicate detection (by content digest), period locks and the writers' lock are all per operator store.
:meth:`CostStore.for_operator` is the only way to reach one, with an operator id that comes from the
database (a manifest's tenant, the billed tenant's operator, an :class:`~cost.scope.AccountScope`), never
from a client. Before revision 0008 the store had one catalog at the root (``_catalog``, ``imports``);
:mod:`cost.migration` moves such a store to this layout.

Why this shape: S3 has no rename, so "write to a staging prefix, then move into place" would be a copy and
a delete per file and never atomic as a whole. Here an import writes its files once, into its own folder
(the staging area *is* the version folder), and nothing reads them until publication, which is a single
small object write: first a new immutable catalog version, then ``HEAD`` naming it. A single PUT is atomic on
S3 (readers see the old or the new object); locally ``HEAD`` is written to a temporary name and renamed.
A reader resolves ``HEAD`` once and sees one consistent version. A failed import deletes its folder, so the
store is byte-for-byte as before. Data files stay Hive-partitioned, so an external engine (DuckDB, Athena)
can read the files the catalog lists.

The catalog maps each partition (period, sub-account) to the files that currently make it up, per source.
A *source* is one billing export (by default the format and the billing/payer account ids of the file).
Publishing a file for (source, period) replaces everything that source had published for that period,
so a month-to-date file re-issued with more rows (or with an account removed) replaces the old one
entirely; files from other sources for the same partition stay.

Writers must be serialised per store (the import job queue does this; the catalog update is a
read-modify-write of ``HEAD``). Replaced import folders are left for :meth:`CostStore.vacuum`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import cast
from uuid import UUID

import pyarrow.fs as pafs

from cost.catalog import Catalog, empty_catalog, folders
from cost.errors import CatalogError

CATALOG_DIR = "_catalog"
_VERSION_FILE = re.compile(r"^v-\d{8}-[0-9a-f]+\.json$")
IMPORTS_DIR = "imports"
OPERATORS_DIR = "operators"


@dataclass(frozen=True)
class StoredFile:
    period: str
    account: str
    path: str  # absolute within the store's filesystem
    rows: int


class CostStore:
    """The store root (``operator_id`` None), or one operator's store under it (see :meth:`for_operator`)."""

    def __init__(self, root: str, filesystem: pafs.FileSystem | None = None) -> None:
        if filesystem is None:
            if "://" in root:
                filesystem, root = pafs.FileSystem.from_uri(root)
            else:
                filesystem, root = pafs.LocalFileSystem(), os.path.abspath(root)
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self.operator_id: UUID | None = None

    def for_operator(self, operator_id: UUID) -> CostStore:
        """The store of one operator, at ``<root>/operators/<uuid>``; an operator's store only gives itself."""
        if not isinstance(operator_id, UUID):
            raise TypeError("an operator id is a UUID read from the database")
        if self.operator_id is not None:
            if operator_id != self.operator_id:
                raise ValueError(f"this is the store of operator {self.operator_id}, not of {operator_id}")
            return self
        store = CostStore(f"{self.root}/{OPERATORS_DIR}/{operator_id}", self.filesystem)
        store.operator_id = operator_id
        return store

    def has_legacy_catalog(self) -> bool:
        """Whether this root still holds a catalog of the pre-0008 single-store layout (see cost.migration)."""
        head = f"{self.root}/{CATALOG_DIR}/HEAD"
        return self.operator_id is None and self.filesystem.get_file_info(head).type == pafs.FileType.File

    # -- paths ---------------------------------------------------------------------------------------------
    def import_dir(self, import_id: str) -> str:
        return f"{self.root}/{IMPORTS_DIR}/{import_id}"

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    # -- catalog -------------------------------------------------------------------------------------------
    def catalog(self) -> Catalog:
        head = f"{self.root}/{CATALOG_DIR}/HEAD"
        if self.filesystem.get_file_info(head).type != pafs.FileType.File:
            return empty_catalog()
        try:
            with self.filesystem.open_input_stream(head) as handle:
                name = handle.read().decode().strip()
            with self.filesystem.open_input_stream(f"{self.root}/{CATALOG_DIR}/{name}") as handle:
                return cast(Catalog, json.loads(handle.read()))  # only publish() writes it
        except (OSError, ValueError) as exc:
            raise CatalogError(f"{self.root}: cannot read the catalog ({exc})") from exc

    def publish(self, catalog: Catalog) -> int:
        """Write ``catalog`` as the next version and point ``HEAD`` at it; returns the version number."""
        version = int(catalog["version"]) + 1
        catalog = {**catalog, "version": version}
        name = f"v-{version:08d}-{secrets.token_hex(4)}.json"
        directory = f"{self.root}/{CATALOG_DIR}"
        self.filesystem.create_dir(directory, recursive=True)
        with self.filesystem.open_output_stream(f"{directory}/{name}") as out:
            out.write(json.dumps(catalog, sort_keys=True).encode())
        try:
            if self.is_local:
                temporary = f"{directory}/.HEAD-{secrets.token_hex(4)}"
                with self.filesystem.open_output_stream(temporary) as out:
                    out.write(name.encode())
                self.filesystem.move(temporary, f"{directory}/HEAD")  # rename(2): atomic
            else:
                with self.filesystem.open_output_stream(f"{directory}/HEAD") as out:
                    out.write(name.encode())  # one PUT: atomic on S3
        except BaseException:
            self.filesystem.delete_file(f"{directory}/{name}")
            raise
        return version

    def files(
        self,
        *,
        accounts: Iterable[str],
        periods: Iterable[str] | None = None,
        catalog: Catalog | None = None,
    ) -> list[StoredFile]:
        """Files of the given accounts (and periods), from the catalog only: no listing, no other files."""
        catalog = self.catalog() if catalog is None else catalog
        wanted_accounts = set(accounts)
        wanted_periods = None if periods is None else set(periods)
        out = []
        for key, sources in catalog["partitions"].items():
            period, account = key.split("/", 1)
            if account not in wanted_accounts or (wanted_periods is not None and period not in wanted_periods):
                continue
            for entry in sources.values():
                for item in entry["files"]:
                    out.append(StoredFile(period, account, f"{self.root}/{item['path']}", item["rows"]))
        return sorted(out, key=lambda f: (f.period, f.account, f.path))

    def import_folders(self) -> set[str]:
        """The names of the import folders there are now."""
        selector = pafs.FileSelector(f"{self.root}/{IMPORTS_DIR}", allow_not_found=True)
        return {i.base_name for i in self.filesystem.get_file_info(selector) if i.type == pafs.FileType.Directory}

    def vacuum(
        self, *, in_progress: Collection[str], among: Collection[str] | None = None, readers_grace_s: float = 3600
    ) -> list[str]:
        """Delete import folders that no catalog a reader may still hold references; returns those removed.

        `in_progress` names the folders still being written that no catalog lists yet: the assemblies whose
        parts stage without the store lock (the database's queued and publishing assemblies, see
        :func:`db.queries.cost_assemblies.staging_ids`). Read it *after* listing `among` (:meth:`import_folders`)
        and only those are candidates: a folder that appears later belongs to an assembly `in_progress` may
        not know yet. Single-file imports write under the operator's store lock, so run vacuum under that lock
        too. A reader resolves ``HEAD`` once and then reads that version's files, so every version that was
        ``HEAD`` within the last `readers_grace_s` seconds keeps its folders too.
        """
        live = folders(self.catalog()["partitions"]) | set(in_progress)
        for name in self._recent_versions(readers_grace_s):
            live |= folders(self._version(name)["partitions"])
        selector = pafs.FileSelector(f"{self.root}/{IMPORTS_DIR}", allow_not_found=True)
        removed = []
        for info in self.filesystem.get_file_info(selector):
            if among is not None and info.base_name not in among:
                continue
            if info.type == pafs.FileType.Directory and info.base_name not in live:
                self.filesystem.delete_dir(info.path)
                removed.append(info.path)
        return removed

    def _recent_versions(self, grace_s: float) -> list[str]:
        """Catalog versions that were ``HEAD`` less than `grace_s` ago: each was replaced when its successor
        was written (a version file without a time counts as recent)."""
        selector = pafs.FileSelector(f"{self.root}/{CATALOG_DIR}", allow_not_found=True)
        versions = sorted(
            (i for i in self.filesystem.get_file_info(selector) if _VERSION_FILE.match(i.base_name)),
            key=lambda i: i.base_name,
        )
        cutoff = time.time() - grace_s
        recent = []
        for version, successor in itertools.pairwise(versions):
            replaced_at = successor.mtime
            if replaced_at is None or replaced_at.timestamp() > cutoff:
                recent.append(version.base_name)
        return recent

    def _version(self, name: str) -> Catalog:
        try:
            with self.filesystem.open_input_stream(f"{self.root}/{CATALOG_DIR}/{name}") as handle:
                return cast(Catalog, json.loads(handle.read()))  # written only by publish()
        except (OSError, ValueError) as exc:
            raise CatalogError(f"{self.root}: cannot read catalog version {name} ({exc})") from exc
