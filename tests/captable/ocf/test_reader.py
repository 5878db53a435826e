"""Reading a package: the manifest governs, defects of listed files are problems naming the manifest entry,
versions outside 1.0–1.2 are problems, and the limits refuse at exactly one past each."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from captable.errors import OcfPackageError
from captable.ocf.limits import OcfLimitExceeded, PackageLimits, UnsafeMemberName
from captable.ocf.reader import MANIFEST, read_package, read_zip
from captable.problems import Problem
from tests.plugins.ocf_samples import ACME, OPTIONS_ZIP, SAMPLES

samples = pytest.mark.skipif(not ACME.is_dir(), reason="shared OCF data is absent")
STAKEHOLDERS = {"object_type": "STAKEHOLDER", "id": "alice", "name": {"legal_name": "Alice"}}


def _manifest(version: Any = "1.2.0", **lists: list[dict[str, str]]) -> dict[str, Any]:
    return {"file_type": MANIFEST, "ocf_version": version, "issuer": {"id": "co"}, **lists}


def _zip(members: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content if isinstance(content, str | bytes) else json.dumps(content))
    return buffer.getvalue()


def _stakeholders_file(*items: Any) -> dict[str, Any]:
    return {"file_type": "OCF_STAKEHOLDERS_FILE", "items": list(items)}


@samples
def test_a_folder_is_read_as_its_manifest_lists_it() -> None:
    raw = read_package(ACME)

    assert raw.version == (1, 1, 1)
    assert raw.manifest["ocf_version"] == "1.1.1-alpha+main"
    assert (raw.problems, raw.warnings) == ((), ())
    assert list(raw.files) == [
        "./Stakeholders.ocf.json",
        "./StockClasses.ocf.json",
        "./VestingTerms.ocf.json",
        "./Valuations.ocf.json",
        "./Transactions.ocf.json",
    ]
    assert Counter(i.file_type for i in raw.items) == {
        "OCF_TRANSACTIONS_FILE": 39,
        "OCF_STAKEHOLDERS_FILE": 4,
        "OCF_STOCK_CLASSES_FILE": 3,
        "OCF_VALUATIONS_FILE": 3,
        "OCF_VESTING_TERMS_FILE": 1,
    }
    first = raw.items[0]
    assert (first.filepath, first.item["object_type"]) == ("./Stakeholders.ocf.json", "STAKEHOLDER")


@samples
def test_a_manifest_path_reads_its_own_folder() -> None:
    raw = read_package(SAMPLES / "Manifest.ocf.json")

    assert raw.version == (1, 2, 1)
    assert len(raw.items) == 101
    # VestingTerms.example1/2 and VestingTransactions.examples are in the folder but not in the manifest
    assert "./VestingTerms.example1.ocf.json" not in raw.files
    assert Counter(i.file_type for i in raw.items)["OCF_VESTING_TERMS_FILE"] == 5


@samples
def test_a_zip_whose_manifest_lists_a_missing_file_reads_the_rest_with_a_problem() -> None:
    raw = read_package(OPTIONS_ZIP)

    assert raw.version == (1, 0, 0)
    assert raw.problems == (
        Problem(
            "07450528-10c4-4f38-855b-defe92563546",
            MANIFEST,
            "stakeholders_files[0].filepath",
            "file './Stakeholders.json' is not in the package",
        ),
    )
    assert Counter(i.file_type for i in raw.items) == {
        "OCF_TRANSACTIONS_FILE": 6,
        "OCF_STOCK_CLASSES_FILE": 2,
        "OCF_STOCK_LEGEND_TEMPLATES_FILE": 1,
    }
    assert read_zip(OPTIONS_ZIP.read_bytes()) == raw


def test_each_defect_of_a_listed_file_is_a_problem_naming_its_entry() -> None:
    entries = [
        {"md5": "x"},
        {"filepath": "../escape.json"},
        {"filepath": "missing.json"},
        {"filepath": "broken.json"},
        {"filepath": "other.json"},
        {"filepath": "noitems.json"},
        {"filepath": "good.json"},
    ]
    raw = read_zip(
        _zip(
            {
                "Manifest.ocf.json": _manifest(stakeholders_files=entries, transactions_files="nope"),  # type: ignore[arg-type]
                "broken.json": "{",
                "other.json": {"file_type": "OCF_STOCK_CLASSES_FILE", "items": []},
                "noitems.json": {"file_type": "OCF_STAKEHOLDERS_FILE"},
                "good.json": _stakeholders_file(STAKEHOLDERS, "not an object"),
            }
        )
    )

    reasons = {p.field: p.reason for p in raw.problems if p.object_id == "co"}
    assert reasons == {
        "stakeholders_files[0].filepath": "filepath is missing",
        "stakeholders_files[1].filepath": "filepath '../escape.json' leaves the package folder (..)",
        "stakeholders_files[2].filepath": "file 'missing.json' is not in the package",
        "stakeholders_files[3].filepath": reasons["stakeholders_files[3].filepath"],
        "stakeholders_files[4].filepath": "file 'other.json' has file_type 'OCF_STOCK_CLASSES_FILE', "
        "expected 'OCF_STAKEHOLDERS_FILE'",
        "stakeholders_files[5].filepath": "file 'noitems.json' has no items list",
        "transactions_files": "is not a list of files",
    }
    assert reasons["stakeholders_files[3].filepath"].startswith("file 'broken.json' is not JSON: ")
    assert Problem("good.json#1", "OCF_STAKEHOLDERS_FILE", "items", "item is not a JSON object") in raw.problems
    assert [(i.filepath, i.item) for i in raw.items] == [("good.json", STAKEHOLDERS)]
    assert len(raw.problems) == 8


@pytest.mark.parametrize(
    ("version", "read_as", "problem"),
    [
        ("1.0.0", (1, 0, 0), None),
        ("1.2.9-rc1", (1, 2, 9), None),
        ("0.9.0", (0, 9, 0), "version 0.9.0 is not supported (1.0.x to 1.2.x)"),
        ("1.3.0", (1, 3, 0), "version 1.3.0 is not supported (1.0.x to 1.2.x)"),
        ("2.0.0", (2, 0, 0), "version 2.0.0 is not supported (1.0.x to 1.2.x)"),
    ],
)
def test_versions_outside_1_0_to_1_2_are_problems(version: str, read_as: tuple[int, ...], problem: str | None) -> None:
    raw = read_zip(_zip({"Manifest.ocf.json": _manifest(version)}))

    assert raw.version == read_as
    assert raw.problems == (() if problem is None else (Problem("co", MANIFEST, "ocf_version", problem),))
    assert raw.warnings == ()


@pytest.mark.parametrize("version", ["~~~ SAMPLE ~~~", None, 12])
def test_a_placeholder_version_is_a_warning_and_reads_as_1_2(version: Any) -> None:
    raw = read_zip(_zip({"Manifest.ocf.json": _manifest(version)}))

    assert (raw.version, raw.problems) == ((1, 2, 0), ())
    assert raw.warnings == (Problem("co", MANIFEST, "ocf_version", f"{version!r} is not a version; read as OCF 1.2"),)


def test_the_shallowest_manifest_governs_and_two_at_one_level_are_refused() -> None:
    nested = _zip({"a/Manifest.json": _manifest("1.0.0"), "Manifest.json": _manifest("1.1.0")})
    assert read_zip(nested).version == (1, 1, 0)

    with pytest.raises(OcfPackageError, match=r"several manifests in the package: \['a.json', 'b.json'\]"):
        read_zip(_zip({"a.json": _manifest(), "b.json": _manifest()}))


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"x.json": _stakeholders_file()}, "no file with file_type OCF_MANIFEST_FILE in the package"),
        ({"Manifest.json": "[]"}, "no file with file_type OCF_MANIFEST_FILE in the package"),
    ],
)
def test_a_package_without_a_manifest_is_refused(members: dict[str, Any], message: str) -> None:
    with pytest.raises(OcfPackageError, match=message):
        read_zip(_zip(members))


def test_bytes_that_are_no_zip_are_refused() -> None:
    with pytest.raises(OcfPackageError, match="not a readable zip archive"):
        read_zip(b"PK\x03\x04 but not really")


def test_a_path_that_is_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OcfPackageError, match="is neither a folder, a zip file nor a manifest"):
        read_package(tmp_path / "absent")


@pytest.mark.parametrize("name", ["../Manifest.json", "/abs.json", "a\\b.json"])
def test_an_archive_member_outside_the_package_refuses_the_whole_archive(name: str) -> None:
    with pytest.raises(UnsafeMemberName, match="member "):
        read_zip(_zip({"Manifest.json": _manifest(), name: "{}"}))


def _package_of(files: int) -> bytes:
    members: dict[str, Any] = {"Manifest.json": _manifest()}
    members.update({f"extra{n}.txt": "x" for n in range(files - 1)})
    return _zip(members)


def test_an_archive_of_exactly_max_files_members_is_read_and_one_more_is_refused() -> None:
    limits = PackageLimits(max_files=5)
    assert read_zip(_package_of(5), limits).version == (1, 2, 0)
    with pytest.raises(OcfLimitExceeded) as caught:
        read_zip(_package_of(6), limits)
    assert (caught.value.limit, str(caught.value)) == ("files", "the package has 6 files; at most 5 are read")


def test_an_archive_of_exactly_max_bytes_is_read_and_one_byte_more_is_refused() -> None:
    manifest = json.dumps(_manifest(stakeholders_files=[{"filepath": "s.json"}])).encode()
    holders = json.dumps(_stakeholders_file(STAKEHOLDERS)).encode()
    size = len(manifest) + len(holders)
    data = _zip({"Manifest.json": manifest, "s.json": holders})

    assert len(read_zip(data, PackageLimits(max_bytes=size)).items) == 1
    with pytest.raises(OcfLimitExceeded) as caught:
        read_zip(data, PackageLimits(max_bytes=size - 1))
    assert caught.value.limit == "bytes"
    assert str(caught.value) == f"the archive's JSON members expand to {size} bytes; at most {size - 1} are read"


@samples
def test_a_folder_of_exactly_max_files_and_max_bytes_is_read_and_one_past_either_is_refused() -> None:
    files = sorted(ACME.glob("*.json"))
    size = sum(p.stat().st_size for p in files)

    assert len(read_package(ACME, PackageLimits(max_files=len(files), max_bytes=size)).items) == 50
    with pytest.raises(OcfLimitExceeded) as too_many:
        read_package(ACME, PackageLimits(max_files=len(files) - 1))
    assert too_many.value.limit == "files"
    with pytest.raises(OcfLimitExceeded) as too_big:
        read_package(ACME, PackageLimits(max_bytes=size - 1))
    assert too_big.value.limit == "bytes"


def test_a_listed_file_nested_past_max_depth_refuses_the_package() -> None:
    deep = {"file_type": "OCF_STAKEHOLDERS_FILE", "items": [{"a": {"b": {}}}]}  # 5 levels
    data = _zip({"Manifest.json": _manifest(stakeholders_files=[{"filepath": "s.json"}]), "s.json": deep})

    assert len(read_zip(data, PackageLimits(max_depth=5)).items) == 1
    with pytest.raises(OcfLimitExceeded) as caught:
        read_zip(data, PackageLimits(max_depth=4))
    assert (caught.value.limit, str(caught.value)) == ("depth", "'s.json' nests JSON deeper than 4 levels")
