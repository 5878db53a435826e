"""cost/assemblies.py: where a manifest's parts are, whether they are the delivery it describes, and staging one
part unpublished into its folder of the store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cost import CostStore
from cost.assemblies import check_columns, part_dir, part_location, read_manifest, resolve_parts, stage_part
from cost.errors import LocationRefused
from cost.locations import CostSources, LocalSource, S3Source
from cost.manifests import Manifest, ManifestError, ManifestKind, parse_manifest
from cost.readers import Reader
from tests.plugins.cost_files import LEGACY_HEADER, OPERATOR, write_legacy_csv
from tests.plugins.costs import legacy_manifest, legacy_rows

ACCOUNTS = ["111122223333", "444455556666"]


def _manifest(parts: tuple[str, ...], bucket: str | None = "billing") -> Manifest:
    return Manifest(ManifestKind.LEGACY_CUR, "a1", "report", "2023-11", tuple(LEGACY_HEADER), parts, bucket)


def _delivery(root: Path, parts: int = 2) -> tuple[CostSources, Manifest, Path, list[Path]]:
    folder = root / "cur" / "report" / "20231101-20231201" / "a1"
    folder.mkdir(parents=True)
    files = [write_legacy_csv(folder / f"report-{i}.csv", legacy_rows(ACCOUNTS, 10, i)) for i in range(parts)]
    at = legacy_manifest(folder.parent, root, files, LEGACY_HEADER, "a1")
    sources = CostSources((LocalSource("bucket", str(root)),))
    return sources, parse_manifest(at.read_bytes(), str(at)), at, files


def test_a_part_is_named_in_the_terms_of_the_manifests_own_source() -> None:
    local = CostSources((LocalSource("mirror", "/srv/mirror"),))
    manifest = _manifest(("cur/p1.csv", "s3://billing/cur/p2.csv", "/srv/mirror/cur/p3.csv"))
    assert [part_location(manifest, i, local, "op", "mirror") for i in range(3)] == [
        "/srv/mirror/cur/p1.csv",
        "/srv/mirror/cur/p2.csv",  # a bucket key, read from the local mirror of that bucket
        "/srv/mirror/cur/p3.csv",
    ]
    bucket = CostSources((S3Source("s3", "billing", "cur"),))
    assert part_location(manifest, 0, bucket, "op", "s3") == "s3://billing/cur/p1.csv"
    with pytest.raises(LocationRefused, match="its bucket is not the bucket of cost source 's3'"):
        part_location(_manifest(("cur/p1.csv",), bucket="elsewhere"), 0, bucket, "op", "s3")
    with pytest.raises(LocationRefused, match="is not configured for this operator any more"):
        part_location(manifest, 0, local, "op", "gone")


def test_every_part_is_resolved_in_the_manifests_source(tmp_path: Path) -> None:
    sources, manifest, at, files = _delivery(tmp_path)
    manifest_at = sources.resolve(str(at), "op")
    assert read_manifest(manifest_at) == at.read_bytes()
    assert [p.path for p in resolve_parts(manifest, manifest_at, sources, "op")] == [str(f) for f in files]


def test_a_missing_part_or_an_unlisted_file_beside_the_parts_refuses_the_delivery(tmp_path: Path) -> None:
    sources, manifest, at, files = _delivery(tmp_path)
    manifest_at = sources.resolve(str(at), "op")
    write_legacy_csv(files[0].parent / "report-9.csv", legacy_rows(ACCOUNTS, 1, 9))
    with pytest.raises(ManifestError, match=r"the parts' folder holds report-9\.csv, which the manifest does not list"):
        resolve_parts(manifest, manifest_at, sources, "op")
    files[1].unlink()
    with pytest.raises(ManifestError, match=r"part 2 of 2 \(.*report-1.csv\) is missing from cost source 'bucket'"):
        resolve_parts(manifest, manifest_at, sources, "op")


def test_a_parts_header_must_be_the_manifests_columns(tmp_path: Path) -> None:
    path = write_legacy_csv(tmp_path / "p.csv", legacy_rows(ACCOUNTS, 1, 0))
    reader = Reader(str(path))
    check_columns(reader, _manifest(("p.csv",)), "m.json")  # the same columns pass
    with pytest.raises(ManifestError) as missing:
        check_columns(reader, replace(_manifest(()), columns=(*LEGACY_HEADER, "x/y")), "m.json")
    assert (missing.value.column, missing.value.row) == ("x/y", 0)
    with pytest.raises(ManifestError) as extra:
        check_columns(reader, replace(_manifest(()), columns=tuple(LEGACY_HEADER[1:])), "m.json")
    assert extra.value.column == LEGACY_HEADER[0]
    assert "is not in the columns of manifest m.json" in extra.value.reason


def test_a_part_is_staged_unpublished_and_a_retry_starts_from_an_empty_folder(tmp_path: Path) -> None:
    sources, manifest, at, files = _delivery(tmp_path / "bucket", parts=1)
    store = CostStore(str(tmp_path / "store")).for_operator(OPERATOR)
    part = sources.resolve(str(files[0]), "op")
    base = Path(part_dir(store, "asm", 0))
    base.mkdir(parents=True)
    (base / "left-by-a-dead-attempt.parquet").write_bytes(b"x")
    staged = stage_part(part, manifest, str(at), store, "asm", 0)
    assert (staged.rows, staged.format, staged.currency) == (10, "legacy-cur", "USD")
    assert {f["account"] for f in staged.files} == set(ACCOUNTS)
    assert sum(int(f["rows"]) for f in staged.files) == 10
    assert not (base / "left-by-a-dead-attempt.parquet").exists()
    assert all(f["path"].startswith("imports/asm/part-00000/") for f in staged.files)
    assert store.catalog()["imports"] == {}  # staged, not published
