"""OCF packages through `importOcfPackage` / `exportOcfPackage`: every real package imports or is rejected with
exactly the engine's problems (and then the database holds nothing), and import → export → import gives the
same derived positions."""

from __future__ import annotations

import base64
import io
import json
import shutil
import zipfile
from pathlib import Path

import psycopg
import pytest

from captable.ocf import import_package
from tests.plugins.captable import counts
from tests.plugins.graphql import GraphQL
from tests.plugins.world import Actor, World

OCF = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "ocf"
pytestmark = pytest.mark.skipif(not OCF.is_dir(), reason="shared OCF data is absent")

IMPORT = """
mutation($package: String!) {
  importOcfPackage(package: $package) {
    __typename
    ... on OcfImported { objectCount warnings { objectId field reason } }
    ... on OcfRejected { problems { objectId objectType field reason } }
    ... on Problem { message }
  }
}
"""
EXPORT = "query { exportOcfPackage { fileName contentBase64 sizeBytes } }"
POSITIONS = """
query { capTable(asOf: "2100-01-01", convertibleRule: AT_CAP) {
  outstandingShares fullyDilutedShares positions { securityId stakeholderId quantity fullyDiluted }
  optionPools { stockPlanId reserved granted issued available }
} }
"""


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _packages() -> list[Path]:
    if not OCF.is_dir():
        return []
    manifests = {p.parent for p in OCF.rglob("Manifest.ocf.json")}
    return sorted(manifests) + sorted(OCF.rglob("*.ocf.zip"))


def _package_bytes(path: Path) -> bytes:
    return path.read_bytes() if path.suffix == ".zip" else _zip_folder(path)


async def _import(gql: GraphQL, actor: Actor, data: bytes) -> dict:
    result = await gql(actor, IMPORT, {"package": base64.b64encode(data).decode()})
    assert "errors" not in result, result
    return result["data"]["importOcfPackage"]


@pytest.mark.parametrize("path", _packages(), ids=lambda p: str(p.relative_to(OCF)))
async def test_every_real_package_imports_or_is_rejected_with_the_engine_problems(
    path: Path, gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    expected = import_package(path)
    tenant = [world.tenants["startup"]]

    outcome = await _import(gql, world.actor("startup_owner"), _package_bytes(path))

    if expected.ok:
        assert outcome["__typename"] == "OcfImported"
        assert counts(owner_conn, tenant)["captable_objects"] > 0
    else:
        assert outcome["__typename"] == "OcfRejected"
        got = {(p["objectId"], p["objectType"], p["field"], p["reason"]) for p in outcome["problems"]}
        assert got == {(p.object_id, p.object_type, p.field, p.reason) for p in expected.problems}
        assert set(counts(owner_conn, tenant).values()) == {0}


async def _positions(gql: GraphQL, actor: Actor) -> dict:
    result = await gql(actor, POSITIONS)
    assert "errors" not in result, result
    table = result["data"]["capTable"]
    table["positions"] = sorted(table["positions"], key=lambda p: p["securityId"])
    return table


async def test_import_export_import_keeps_the_derived_positions(gql: GraphQL, world: World, tmp_path: Path) -> None:
    # The quickstart tutorial with its upstream defect repaired (the manifest names ./Stakeholders.json, the file
    # is Stakeholders.ocf.json): a valid package.
    folder = tmp_path / "quickstart"
    shutil.copytree(OCF / "open-cap-format" / "docs" / "tutorials" / "quickstart" / "samples", folder)
    manifest = json.loads((folder / "Manifest.ocf.json").read_text())
    manifest["stakeholders_files"][0]["filepath"] = "./Stakeholders.ocf.json"
    (folder / "Manifest.ocf.json").write_text(json.dumps(manifest))
    assert import_package(folder).ok
    first, second = world.actor("startup_owner"), world.actor("other_startup_owner")

    imported = await _import(gql, first, _zip_folder(folder))
    assert imported["__typename"] == "OcfImported", imported
    exported = await gql(first, EXPORT)
    assert "errors" not in exported, exported
    package = exported["data"]["exportOcfPackage"]["contentBase64"]
    again = await _import(gql, second, base64.b64decode(package))

    assert again["__typename"] == "OcfImported", again
    assert again["objectCount"] == imported["objectCount"]
    original = await _positions(gql, first)
    assert original["positions"]
    assert await _positions(gql, second) == original


async def test_rejects_what_is_not_a_package(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    result = await gql(owner, IMPORT, {"package": "not base64!"})
    assert result["data"]["importOcfPackage"]["__typename"] == "InvalidInput"
    result = await gql(owner, IMPORT, {"package": base64.b64encode(b"plain text").decode()})
    assert result["data"]["importOcfPackage"]["__typename"] == "InvalidInput"


async def test_viewers_and_vcs_may_not_import(gql: GraphQL, world: World, owner_conn: psycopg.Connection) -> None:
    data = _zip_folder(OCF / "ocf-tools" / "testing_scripts" / "testPackage")
    before = counts(owner_conn)
    for name in ("startup_viewer", "vc_active"):
        assert (await _import(gql, world.actor(name), data))["__typename"] == "NotAllowed"
    assert counts(owner_conn) == before
