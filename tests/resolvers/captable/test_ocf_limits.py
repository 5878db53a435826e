"""`importOcfPackage` from a hostile client over HTTP: bombs, member floods, deep JSON and path traversal are
refused with a precise BAD_USER_INPUT-shaped answer, nothing is written, and the server keeps answering others."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import os
import time
import zipfile
from typing import Any

import httpx
import psycopg

from tests.plugins.captable import counts
from tests.plugins.graphql import ClientFor, token_for
from tests.plugins.world import World

IMPORT = """
mutation($package: String!) {
  importOcfPackage(package: $package) {
    __typename
    ... on OcfImported { objectCount }
    ... on OcfRejected { problems { objectId field reason } }
    ... on InvalidInput { message field }
  }
}
"""
ROOMY = {"max_body_bytes": 16 * 1024 * 1024}  # the body limit is not what these tests exercise
MANIFEST = "Manifest.ocf.json"


def _manifest(filepath: str = "Stakeholders.ocf.json") -> bytes:
    return json.dumps(
        {
            "file_type": "OCF_MANIFEST_FILE",
            "ocf_version": "1.2.0",
            "issuer": {"id": "issuer-1", "legal_name": "Hostile Inc."},
            "stakeholders_files": [{"filepath": filepath}],
        }
    ).encode()


def _stakeholders(items: Any) -> bytes:
    return json.dumps({"file_type": "OCF_STAKEHOLDERS_FILE", "items": items}).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _bomb(member: str, megabytes: int) -> bytes:
    """A valid manifest plus `member`: JSON whitespace that expands a thousandfold."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(MANIFEST, _manifest(member))
        with archive.open(member, "w") as stream:
            stream.write(b'{"file_type": "OCF_STAKEHOLDERS_FILE", "items": []')
            chunk = b" " * (1024 * 1024)
            for _ in range(megabytes):
                stream.write(chunk)
            stream.write(b"}")
    return buffer.getvalue()


async def _post(client: httpx.AsyncClient, world: World, data: bytes) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
    package = base64.b64encode(data).decode()
    response = await client.post("/graphql", json={"query": IMPORT, "variables": {"package": package}}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    outcome: dict[str, Any] = body["data"]["importOcfPackage"]
    return outcome


def _refused(outcome: dict[str, Any], *words: str) -> str:
    assert outcome["__typename"] == "InvalidInput", outcome
    assert outcome["field"] == "package"
    for word in words:
        assert word in outcome["message"], outcome["message"]
    message: str = outcome["message"]
    return message


async def test_a_zip_bomb_is_refused_at_once_while_the_server_keeps_answering(
    client_for: ClientFor, world: World, owner_conn: psycopg.Connection
) -> None:
    bomb = _bomb("Stakeholders.ocf.json", megabytes=300)
    assert len(bomb) < 1024 * 1024  # a small request...
    before = counts(owner_conn)
    async with client_for(**ROOMY) as client:
        done = asyncio.Event()
        answered: list[float] = []  # when each health check came back; a held event loop leaves a gap

        async def ping() -> None:
            while not done.is_set():
                assert (await client.get("/healthz")).status_code == 200
                answered.append(time.perf_counter())
                await asyncio.sleep(0.01)

        pinger = asyncio.create_task(ping())
        await asyncio.sleep(0.02)
        started = time.perf_counter()
        try:
            outcome = await _post(client, world, bomb)
        finally:
            done.set()
            await pinger
        elapsed = time.perf_counter() - started
        marks = [started, *(t for t in answered if t > started), time.perf_counter()]
        gaps = [later - earlier for earlier, later in itertools.pairwise(marks)]

    assert max(gaps) < 1.0, gaps  # health checks were never held
    message = _refused(outcome, "ROUNDPOOL_MAX_ZIP_BYTES", "at most 20971520")
    assert int(message.split("expand to ")[1].split()[0]) > 300 * 1024 * 1024  # ...that claims 300 MB
    assert elapsed < 5, elapsed  # refused from the archive's directory, not by inflating it
    assert counts(owner_conn) == before


async def test_a_member_that_inflates_past_the_limit_is_cut_off_whatever_its_name(
    client_for: ClientFor, world: World, owner_conn: psycopg.Connection
) -> None:
    # Not a .json name, so the directory check does not add it up; the manifest lists it, and reading stops
    # at the limit.
    bomb = _bomb("Stakeholders.bin", megabytes=40)
    before = counts(owner_conn)
    async with client_for(**ROOMY) as client:
        outcome = await _post(client, world, bomb)
    _refused(outcome, "'Stakeholders.bin'", "ROUNDPOOL_MAX_ZIP_BYTES")
    assert counts(owner_conn) == before


async def test_a_hundred_thousand_members_are_refused(
    client_for: ClientFor, world: World, owner_conn: psycopg.Connection
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, _manifest())
        for index in range(100_000):
            archive.writestr(f"{index:x}", b"")
    before = counts(owner_conn)
    async with client_for(**ROOMY) as client:
        outcome = await _post(client, world, buffer.getvalue())
    _refused(outcome, "100001 files", "at most 1000", "ROUNDPOOL_MAX_ZIP_FILES")
    assert counts(owner_conn) == before


async def test_deeply_nested_json_in_a_member_or_the_manifest_is_refused(
    client_for: ClientFor, world: World, owner_conn: psycopg.Connection
) -> None:
    before = counts(owner_conn)
    deep_items = b'{"file_type": "OCF_STAKEHOLDERS_FILE", "items": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    # 100 levels parse fine in Python but exceed the limit (64): refused as well, not walked by the engine
    moderately_deep = _stakeholders([json.loads("[" * 100 + "]" * 100)])
    deep_manifest = _manifest()[:-1] + b', "x": ' + b"[" * 3_000 + b"]" * 3_000 + b"}"
    async with client_for(**ROOMY) as client:
        for member, content, manifest in (
            ("Stakeholders.ocf.json", deep_items, _manifest()),
            ("Stakeholders.ocf.json", moderately_deep, _manifest()),
            (MANIFEST, b"", deep_manifest),
        ):
            members = {MANIFEST: manifest} if member == MANIFEST else {MANIFEST: manifest, member: content}
            outcome = await _post(client, world, _zip(members))
            _refused(outcome, repr(member), "deeper than 64 levels", "ROUNDPOOL_MAX_JSON_DEPTH")
    assert counts(owner_conn) == before


async def test_member_names_outside_the_package_are_refused_and_nothing_is_written(
    client_for: ClientFor, world: World, owner_conn: psycopg.Connection, tmp_path: Any
) -> None:
    before = counts(owner_conn)
    async with client_for(**ROOMY) as client:
        for name, reason in (
            ("../../Stakeholders.ocf.json", "leaves the package folder"),
            ("/etc/Stakeholders.ocf.json", "is absolute"),
            ("..\\Stakeholders.ocf.json", "backslash"),
            ("C:/Stakeholders.ocf.json", "is absolute"),
        ):
            outcome = await _post(client, world, _zip({MANIFEST: _manifest(), name: _stakeholders([])}))
            _refused(outcome, f"member {name!r}", reason)
        # a manifest that points outside its folder is a problem of the package, reported like the others
        outcome = await _post(client, world, _zip({MANIFEST: _manifest("../../etc/passwd")}))
    assert outcome["__typename"] == "OcfRejected", outcome
    assert any("leaves the package folder" in p["reason"] for p in outcome["problems"]), outcome
    assert counts(owner_conn) == before


async def test_the_base64_text_is_measured_before_it_is_decoded(
    client_for: ClientFor, world: World, owner_conn: psycopg.Connection
) -> None:
    before = counts(owner_conn)
    package = _zip({MANIFEST: _manifest(), "Stakeholders.ocf.json": _stakeholders([]), "pad": os.urandom(4_000)})
    async with client_for(max_upload_bytes=2_000) as client:
        outcome = await _post(client, world, package)
        _refused(outcome, "larger than 2000 bytes", "ROUNDPOOL_MAX_UPLOAD_BYTES")
        headers = {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
        not_base64 = {"query": IMPORT, "variables": {"package": "%" * 10_000}}
        response = await client.post("/graphql", json=not_base64, headers=headers)
    _refused(response.json()["data"]["importOcfPackage"], "ROUNDPOOL_MAX_UPLOAD_BYTES")
    assert counts(owner_conn) == before
