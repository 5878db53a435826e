"""The parts of an assembly: where each may be read, whether the delivery is complete, and staging one part.

A manifest names its parts (legacy ``reportKeys``, Data Exports ``dataFiles``); each part must resolve, through
the configured sources (:meth:`cost.locations.CostSources.resolve`), inside the *same* source as the manifest,
so a manifest cannot reach further than the client who named it could. A key relative to a source means the
source's bucket (S3) or folder (local, a mirror of the bucket); a Data Exports ``s3://`` URI read from a local
source means its key under that folder.

Staging writes one part into ``imports/<assembly>/part-<n>/`` of the operator's store, unpublished; the
publication (:mod:`cost.assembly_publication`) later makes every part visible in one catalog version.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import pyarrow.fs as pafs

from cost.catalog import StagedFile
from cost.errors import LocationRefused, NotInSource, SourceError
from cost.imports import Progress, stage
from cost.locations import CostSources, LocalSource, ResolvedLocation, S3Source
from cost.manifests import MANIFEST_SUFFIX, Manifest, ManifestError, ManifestKind
from cost.readers import Reader
from cost.store import IMPORTS_DIR, CostStore

_DATA_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".gz", ".zip", ".parquet")


@dataclass(frozen=True)
class StagedPart:
    files: list[StagedFile]
    rows: int
    bytes: int
    format: str
    currency: str | None


def read_manifest(resolved: ResolvedLocation) -> bytes:
    with resolved.filesystem.open_input_stream(resolved.path, compression=None) as handle:
        content: bytes = handle.read()
        return content


def part_location(manifest: Manifest, index: int, sources: CostSources, operator: str, source_name: str) -> str:
    """The location text of part `index`, in the terms of the manifest's own source."""
    part = manifest.parts[index]
    source = next((s for s in sources.usable_by(operator) if s.name == source_name), None)
    if source is None:
        raise LocationRefused(f"cost source {source_name!r} is not configured for this operator any more")
    if isinstance(source, S3Source):
        if part.startswith("s3://") or part.startswith("/"):
            return part
        if manifest.bucket is not None and manifest.bucket != source.bucket:
            raise LocationRefused(f"part {index + 1}: its bucket is not the bucket of cost source {source.name!r}")
        return f"s3://{source.bucket}/{part}"
    assert isinstance(source, LocalSource)
    if part.startswith("/"):
        return part
    key = part[len("s3://") :].partition("/")[2] if part.startswith("s3://") else part
    return f"{source.root.rstrip('/')}/{key}"


def resolve_parts(
    manifest: Manifest, manifest_at: ResolvedLocation, sources: CostSources, operator: str
) -> list[ResolvedLocation]:
    """Every part, resolved in the manifest's source; a part missing, outside that source, or a data file in
    the parts' folder that the manifest does not list → :class:`~cost.manifests.ManifestError` (or a
    :class:`~cost.errors.SourceError` that quotes nothing of the part)."""
    resolved = []
    for index in range(len(manifest.parts)):
        location = part_location(manifest, index, sources, operator, manifest_at.source)
        try:
            part = sources.resolve(location, operator)
        except NotInSource:
            raise ManifestError(
                manifest_at.location,
                f"part {index + 1} of {len(manifest.parts)} ({manifest.parts[index]}) is missing from cost source "
                f"{manifest_at.source!r}; nothing was imported",
            ) from None
        except SourceError as error:
            raise type(error)(f"part {index + 1} of the manifest: {error.reason}") from None
        if part.source != manifest_at.source:
            raise LocationRefused(
                f"part {index + 1} of the manifest is outside the manifest's cost source {manifest_at.source!r}"
            )
        resolved.append(part)
    _refuse_unlisted(manifest_at, resolved)
    return resolved


def _refuse_unlisted(manifest_at: ResolvedLocation, parts: list[ResolvedLocation]) -> None:
    """A data file beside the parts that the manifest does not list: the delivery is not what it says."""
    folders = {posixpath.dirname(p.path) for p in parts}
    if len(folders) != 1:
        return
    folder = folders.pop()
    listed = {p.path for p in parts}
    try:
        infos = parts[0].filesystem.get_file_info(pafs.FileSelector(folder))
    except OSError:
        return  # listing is a check on top; reading each part already succeeded
    for info in infos:
        name = info.base_name
        if (
            info.type == pafs.FileType.File
            and info.path not in listed
            and not name.endswith(MANIFEST_SUFFIX)
            and name.lower().endswith(_DATA_SUFFIXES)
        ):
            raise ManifestError(
                manifest_at.location,
                f"the parts' folder holds {name}, which the manifest does not list; nothing was imported",
            )


def check_columns(reader: Reader, manifest: Manifest, manifest_location: str) -> None:
    """The part's header must be the manifest's column list (order aside)."""
    header = set(reader.header)
    expected = set(manifest.columns)
    for name in manifest.columns:
        if name not in header:
            raise ManifestError(
                reader.name,
                f"column listed by manifest {manifest_location} is missing from this part",
                row=0,
                column=name,
            )
    for name in reader.header:
        if name not in expected:
            raise ManifestError(
                reader.name,
                f"column is not in the columns of manifest {manifest_location}",
                row=0,
                column=name,
            )


def assembly_dir(store: CostStore, assembly_id: str) -> str:
    return store.import_dir(assembly_id)


def part_dir(store: CostStore, assembly_id: str, index: int) -> str:
    return f"{assembly_dir(store, assembly_id)}/part-{index:05d}"


def stage_part(
    part: ResolvedLocation,
    manifest: Manifest,
    manifest_location: str,
    store: CostStore,
    assembly_id: str,
    index: int,
    on_progress: Progress | None = None,
) -> StagedPart:
    """Check part `index` against the manifest and write it, unpublished, into its folder of the assembly.

    A retried part (its worker died) starts from an empty folder: the dead attempt's files are removed first.
    """
    base = part_dir(store, assembly_id, index)
    if store.filesystem.get_file_info(base).type != pafs.FileType.NotFound:
        store.filesystem.delete_dir(base)
    reader = Reader(part.path, part.filesystem)
    check_columns(reader, manifest, manifest_location)
    if manifest.kind is ManifestKind.LEGACY_CUR and reader.format.value != "legacy-cur":
        raise ManifestError(reader.name, f"a legacy CUR manifest's part must be a legacy CUR, not {reader.format}")
    files = stage(reader, store, base, on_progress)
    prefix = f"{IMPORTS_DIR}/{assembly_id}/part-{index:05d}"
    return StagedPart(
        files=[{"period": f.period, "account": f.account, "path": f"{prefix}/{f.path}", "rows": f.rows} for f in files],
        rows=reader.rows,
        bytes=reader.source.size,
        format=reader.format.value,
        currency=reader.currency,
    )
