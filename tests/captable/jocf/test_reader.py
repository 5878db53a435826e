"""Reading a JOCF package: every JSON member with a JOCF file_type, in name order; other members are problems
naming the file; the OCF package limits refuse at exactly one past each."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from captable.errors import OcfPackageError
from captable.jocf.reader import FILE_TYPES, VERSION, read_jocf, read_jocf_zip
from captable.ocf.limits import OcfLimitExceeded, PackageLimits, UnsafeMemberName
from captable.problems import Problem
from tests.plugins.jocf_samples import SAMPLES

samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared JOCF data is absent")
HOLDER = {"object_type": "SECURITY_HOLDER", "id": "h", "name": {"legal_name": "H"}}


def _holders(*items: Any) -> dict[str, Any]:
    return {"file_type": "JOCF_SECURITY_HOLDERS_FILE", "items": list(items)}


def _zip(members: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content if isinstance(content, str | bytes) else json.dumps(content))
    return buffer.getvalue()


def test_the_file_types_are_the_four_jocf_files() -> None:
    assert {
        "JOCF_SECURITY_HOLDERS_FILE",
        "JOCF_STOCK_CLASSES_FILE",
        "JOCF_TRANSACTIONS_FILE",
        "JOCF_SECURITYHOLDERS_AGREEMENT_FILE",
    } == FILE_TYPES


@samples
def test_a_folder_is_read_file_by_file_in_name_order() -> None:
    raw = read_jocf(SAMPLES / "j-kiss_2" / "1")

    assert (raw.version, raw.manifest, raw.problems, raw.warnings) == (VERSION, {}, (), ())
    assert dict(raw.files) == {
        "SecurityHoldersFile.jocf.json": "JOCF_SECURITY_HOLDERS_FILE",
        "TransactionsFile.jocf.json": "JOCF_TRANSACTIONS_FILE",
    }
    assert [(i.filepath, i.item["object_type"], i.item["id"]) for i in raw.items] == [
        ("SecurityHoldersFile.jocf.json", "SECURITY_HOLDER", "test-securityholder-investor-x"),
        ("TransactionsFile.jocf.json", "TX_CONVERTIBLE_ISSUANCE", "test-convertible-issuance-1"),
    ]


@samples
def test_one_file_and_a_zip_of_the_folder_read_the_same_items(tmp_path: Path) -> None:
    folder = SAMPLES / "j-kiss_2" / "1"
    single = read_jocf(folder / "TransactionsFile.jocf.json")
    assert [i.item["id"] for i in single.items] == ["test-convertible-issuance-1"]

    archive = tmp_path / "package.zip"
    archive.write_bytes(_zip({p.name: p.read_bytes() for p in folder.glob("*.json")}))
    assert read_jocf(archive) == read_jocf(folder)


def test_members_that_are_no_jocf_file_are_problems_naming_the_file() -> None:
    raw = read_jocf_zip(
        _zip(
            {
                "a.json": "{",
                "b.json": {"file_type": "OCF_MANIFEST_FILE"},
                "c.json": {"file_type": "JOCF_TRANSACTIONS_FILE", "items": {}},
                "d.json": _holders(HOLDER, ["no object"]),
                "readme.txt": "ignored",
            }
        )
    )

    assert raw.problems[0].object_id == "a.json"
    assert raw.problems[0].reason.startswith("not JSON: ")
    assert raw.problems[1:] == (
        Problem("b.json", "JOCF_FILE", "file_type", "'OCF_MANIFEST_FILE' is not a JOCF file type"),
        Problem("c.json", "JOCF_TRANSACTIONS_FILE", "items", "the file has no items list"),
        Problem("d.json#1", "JOCF_SECURITY_HOLDERS_FILE", "items", "item is not a JSON object"),
    )
    assert [i.item for i in raw.items] == [HOLDER]
    assert dict(raw.files) == {"d.json": "JOCF_SECURITY_HOLDERS_FILE"}


def test_a_package_without_any_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OcfPackageError, match="no JOCF file"):
        read_jocf_zip(_zip({"readme.txt": "x"}))
    with pytest.raises(OcfPackageError, match="not a readable zip archive"):
        read_jocf_zip(b"not a zip")
    with pytest.raises(OcfPackageError, match="neither a folder, a zip file nor a JOCF file"):
        read_jocf(tmp_path / "absent")


@pytest.mark.parametrize("name", ["../x.json", "/x.json", "C:/x.json"])
def test_a_member_outside_the_package_refuses_the_archive(name: str) -> None:
    with pytest.raises(UnsafeMemberName):
        read_jocf_zip(_zip({"h.json": _holders(HOLDER), name: "{}"}))


def test_exactly_max_files_members_are_read_and_one_more_is_refused() -> None:
    data = _zip({f"h{n}.json": _holders({**HOLDER, "id": f"h{n}"}) for n in range(3)})
    assert len(read_jocf_zip(data, PackageLimits(max_files=3)).items) == 3
    with pytest.raises(OcfLimitExceeded) as caught:
        read_jocf_zip(data, PackageLimits(max_files=2))
    assert (caught.value.limit, str(caught.value)) == ("files", "the package has 3 files; at most 2 are read")


def test_exactly_max_bytes_are_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    contents = [json.dumps(_holders({**HOLDER, "id": f"h{n}"})).encode() for n in range(2)]
    for n, content in enumerate(contents):
        (tmp_path / f"h{n}.json").write_bytes(content)
    size = sum(len(c) for c in contents)

    assert len(read_jocf(tmp_path, PackageLimits(max_bytes=size)).items) == 2
    assert len(read_jocf_zip(_zip({"h.json": contents[0]}), PackageLimits(max_bytes=len(contents[0]))).items) == 1
    with pytest.raises(OcfLimitExceeded) as caught:
        read_jocf(tmp_path, PackageLimits(max_bytes=size - 1))
    assert caught.value.limit == "bytes"
    with pytest.raises(OcfLimitExceeded):
        read_jocf_zip(_zip({"h.json": contents[0]}), PackageLimits(max_bytes=len(contents[0]) - 1))


def test_json_nested_past_max_depth_refuses_the_package() -> None:
    data = _zip({"h.json": _holders(HOLDER)})  # file, items, holder, name: 4 levels
    assert len(read_jocf_zip(data, PackageLimits(max_depth=4)).items) == 1
    with pytest.raises(OcfLimitExceeded) as caught:
        read_jocf_zip(data, PackageLimits(max_depth=3))
    assert (caught.value.limit, str(caught.value)) == ("depth", "'h.json' nests JSON deeper than 3 levels")
