"""Imports read only from configured cost sources, attacked over HTTP as a billing admin of a production server.

Every refusal leaves `cost_imports` and the store exactly as they were, and no response, manifest or error
ever carries the content of a file outside the sources or of a file that is not a billing file.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from cost import CostStore
from db.session import Database
from resolvers.common.principals import Member
from resolvers.costs.imports import run_import
from schema.app import create_app
from schema.settings import Settings
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET, row_id, token_for
from tests.plugins.listener import recording_listener
from tests.plugins.s3server import moto_s3, s3_client
from tests.plugins.world import World

SECRET = "JWT_SECRET=leaked-" + "z" * 24
IMPORT = """
mutation($path: String!) {
  importCostReport(path: $path) {
    __typename ... on InvalidInput { message field } ... on CostImport { id status }
  }
}"""
STATUS = "query($id: ID!) { costImport(id: $id) { status error { file row column reason } } }"


@dataclass
class Server:
    client: httpx.AsyncClient
    settings: Settings
    root: Path
    secret: Path
    s3_endpoint: str | None


@pytest.fixture
def internal_service() -> Iterator[tuple[int, list[bytes]]]:
    """An HTTP service on loopback that only the server itself could reach (the SSRF target)."""
    with recording_listener(b"INTERNAL-TOKEN") as listening:
        yield listening


@pytest.fixture
def s3_endpoint() -> Iterator[str | None]:
    if not _has("moto.server") or not _has("boto3"):
        yield None
        return

    with moto_s3() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="nimbus-cur")
        client.put_object(Bucket="nimbus-cur", Key="private/secret.txt", Body=SECRET.encode())
        client.close()
        yield endpoint


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module.split(".")[0]) is not None


@pytest.fixture
async def server(
    test_database: TestDatabase, tmp_path: Path, world: World, s3_endpoint: str | None
) -> AsyncIterator[Server]:
    root = tmp_path / "deliveries"
    root.mkdir()
    secret = tmp_path / "jwt-secret"
    secret.write_text(SECRET)
    key_file = tmp_path / "s3-key"
    key_file.write_text("testing")
    sources: list[dict[str, Any]] = [
        {"name": "elsewhere", "url": str(tmp_path / "elsewhere"), "operators": ["not-" + world.slugs["operator"]]},
    ]
    if s3_endpoint is not None:
        sources.append(
            {
                "name": "nimbus-cur",
                "url": "s3://nimbus-cur/cur",
                "endpoint": f"http://{s3_endpoint}",
                "region": "us-east-1",
                "access_key_id": "testing",
                "secret_access_key_file": str(key_file),
            }
        )
    settings = Settings(
        database_url=test_database.app_url,
        migration_database_url=test_database.owner_url,
        jwt_secret=JWT_SECRET,
        environment="production",
        cost_store=str(tmp_path / "store"),
        cost_import_roots=[root],
        cost_sources=sources,  # type: ignore[arg-type]
    )
    app = create_app(settings, test_database.app_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Server(client, settings, root, secret, s3_endpoint)


async def _post(server: Server, world: World, query: str, variables: dict[str, Any]) -> httpx.Response:
    headers = {"authorization": f"Bearer {token_for(world.actor('billing_admin'))}"}
    return await server.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def _snapshot(owner_conn: psycopg.Connection, server: Server) -> tuple[Any, list[str]]:
    store = Path(server.settings.cost_store_root)
    files = sorted(str(p.relative_to(store)) for p in store.rglob("*")) if store.exists() else []
    rows = owner_conn.execute("select count(*), coalesce(max(created_at)::text, '') from cost_imports").fetchone()
    return rows, files


async def _run_job(server: Server, database: Database, world: World, import_id: str) -> None:
    admin = world.actor("billing_admin")
    assert admin.user_id is not None
    assert admin.tenant_id is not None
    await run_import(
        database,
        CostStore(server.settings.cost_store_root),
        row_id(import_id),
        Member(admin.user_id, admin.tenant_id),
        interval=0.05,
        sources=server.settings.cost_import_sources,
    )


ATTACKS = {
    "file URI": "file://{secret}",
    "file URI inside the root": "file://{root}/x.csv",
    "path outside the roots": "{secret}",
    "dot-dot out of the root": "{root}/../jwt-secret",
    "system file": "/etc/passwd",
    "symlink to a secret": "{root}/report.csv",
    "symlinked folder": "{root}/linked/jwt-secret",
    "s3 with an endpoint override": "s3://nimbus-cur/cur/x.csv?endpoint_override=127.0.0.1:{port}&scheme=http",
    "s3 host of the attacker's choice": "s3://127.0.0.1:{port}/cur/x.csv",
    "unconfigured bucket": "s3://other-bucket/cur/x.csv",
    "s3 outside the prefix": "s3://nimbus-cur/private/secret.txt",
    "s3 dot-dot": "s3://nimbus-cur/cur/../private/secret.txt",
    "source of another operator": "{elsewhere}/cur.csv",
    "gs URI": "gs://bucket/cur.csv",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_locations_outside_the_configured_sources_are_refused_and_nothing_changes(
    attack: str,
    server: Server,
    world: World,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
    internal_service: tuple[int, list[bytes]],
) -> None:
    port, received = internal_service
    (server.root / "report.csv").symlink_to(server.secret)
    (server.root / "linked").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    write_legacy_csv(tmp_path / "elsewhere" / "cur.csv", [{}])
    path = ATTACKS[attack].format(secret=server.secret, root=server.root, port=port, elsewhere=tmp_path / "elsewhere")
    before = _snapshot(owner_conn, server)

    response = await _post(server, world, IMPORT, {"path": path})

    assert response.status_code == 200
    result = response.json()["data"]["importCostReport"]
    assert result["__typename"] == "InvalidInput", result
    assert result["field"] == "path"
    assert "configured cost sources" in result["message"]
    assert SECRET not in response.text
    assert "INTERNAL-TOKEN" not in response.text
    assert "elsewhere" not in result["message"]  # another operator's source is not even named
    assert _snapshot(owner_conn, server) == before
    assert received == []  # no request left the server


async def test_a_non_billing_file_inside_a_root_fails_without_quoting_it(
    server: Server, world: World, database: Database, owner_conn: psycopg.Connection
) -> None:
    notes = server.root / "notes.csv"
    notes.write_text(f"{SECRET},other\n1,2\n")
    before = _snapshot(owner_conn, server)[1]

    queued = (await _post(server, world, IMPORT, {"path": str(notes)})).json()["data"]["importCostReport"]
    assert queued["__typename"] == "CostImport"
    await _run_job(server, database, world, queued["id"])
    response = await _post(server, world, STATUS, {"id": queued["id"]})

    status = response.json()["data"]["costImport"]
    assert status["status"] == "FAILED"
    assert status["error"] == {
        "file": str(notes),
        "row": None,
        "column": None,
        "reason": "not a recognised billing file (CUR, CUR 2.0 or FOCUS header expected)",
    }
    assert SECRET not in response.text
    stored = owner_conn.execute(
        "select error::text from cost_imports where id = %s", (row_id(queued["id"]),)
    ).fetchone()
    assert stored is not None
    assert SECRET not in stored[0]
    assert _snapshot(owner_conn, server)[1] == before


async def test_a_manifest_edited_to_point_outside_the_sources_is_refused_by_the_job(
    server: Server, world: World, database: Database, owner_conn: psycopg.Connection
) -> None:
    good = write_legacy_csv(server.root / "cur.csv", [{"lineItem/UsageAccountId": "424242424242"}])
    queued = (await _post(server, world, IMPORT, {"path": str(good)})).json()["data"]["importCostReport"]
    assert queued["__typename"] == "CostImport"
    store_before = _snapshot(owner_conn, server)[1]
    for tampered in (str(server.secret), f"file://{server.secret}", f"{server.root}/../jwt-secret"):
        owner_conn.execute(
            "update cost_imports set source_uri = %s, status = 'queued', error = null,"
            " finished_at = null where id = %s",
            (tampered, row_id(queued["id"])),
        )

        await _run_job(server, database, world, queued["id"])

        row = owner_conn.execute(
            "select status, error from cost_imports where id = %s", (row_id(queued["id"]),)
        ).fetchone()
        assert row is not None
        assert row[0] == "failed", tampered
        assert row[1]["reason"].startswith("imports read only from configured cost sources")
        assert SECRET not in json.dumps(row[1])
        assert _snapshot(owner_conn, server)[1] == store_before


async def test_a_configured_s3_source_imports(
    server: Server, world: World, database: Database, owner_conn: psycopg.Connection, tmp_path: Path
) -> None:
    if server.s3_endpoint is None:
        pytest.skip("moto and boto3 are needed for the S3 source")
    account = "515151515151"
    body = write_legacy_csv(tmp_path / "cur.csv", [{"lineItem/UsageAccountId": account}] * 3).read_bytes()
    client = s3_client(server.s3_endpoint)
    client.put_object(Bucket="nimbus-cur", Key="cur/2023-11/cur.csv", Body=body)
    client.close()

    queued = (await _post(server, world, IMPORT, {"path": "s3://nimbus-cur/cur/2023-11/cur.csv"})).json()
    job = queued["data"]["importCostReport"]
    assert job["__typename"] == "CostImport", queued
    await _run_job(server, database, world, job["id"])

    row = owner_conn.execute(
        "select status, rows, accounts, source_uri from cost_imports where id = %s", (row_id(job["id"]),)
    ).fetchone()
    assert row is not None
    assert (row[0], row[1], list(row[2]), row[3]) == ("succeeded", 3, [account], "s3://nimbus-cur/cur/2023-11/cur.csv")
