"""Subscriptions over a real WebSocket: uvicorn serves the app (as `roundpool serve` does) on a loopback port in
its own thread, and the `websockets` client speaks graphql-transport-ws to it. Jobs run inline on the test's
loop (the functions the workers call) while the subscriber watches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from cost import CostStore
from db.session import Database
from resolvers.billing.jobs import run_close_job
from resolvers.common.principals import Member
from schema.app import create_app
from schema.settings import Settings
from tests.plugins.billing import SeedCosts, set_up_billing
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.costs import (
    ASSEMBLY_IMPORT,
    COST_IMPORT,
    RunJob,
    header_of,
    legacy_manifest,
    legacy_rows,
    new_accounts,
    run_assembly,
)
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import GraphQL, gid, row_id, token_for
from tests.plugins.world import Actor, World

ALLOWED_ORIGIN = "https://app.example"
IMPORT_PROGRESS = "subscription($id: ID!) { costImportProgress(id: $id) { id status rowsProcessed bytesProcessed } }"
RUN_PROGRESS = "subscription($id: ID!) { invoiceRunProgress(id: $id) { status total closed failed } }"
_WAIT_S = 20


@contextmanager
def _serving(settings: Settings, app_url: str) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(create_app(settings, app_url), host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + _WAIT_S
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(_WAIT_S)


@pytest.fixture(scope="module")
def ws_url(settings: Settings, test_database: TestDatabase) -> Iterator[str]:
    changed = settings.model_copy(
        update={
            "cors_origins": [ALLOWED_ORIGIN],
            "subscription_max_per_connection": 2,
            "subscription_poll_interval_s": 0.05,
        }
    )
    with _serving(changed, test_database.app_url) as url:
        yield url


@pytest.fixture
def ws_url_for(settings: Settings, test_database: TestDatabase) -> Callable[..., Any]:
    """`with ws_url_for(field=value) as url`: a server whose settings differ by those fields."""
    return lambda **overrides: _serving(settings.model_copy(update=overrides), test_database.app_url)


@asynccontextmanager
async def _socket(url: str, origin: str | None = None) -> AsyncIterator[ClientConnection]:
    async with connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], origin=origin, open_timeout=_WAIT_S
    ) as socket:  # type: ignore[arg-type]
        yield socket


async def _receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), _WAIT_S))
    return message


async def _send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


async def _initialised(socket: ClientConnection, actor: Actor, **payload: Any) -> None:
    await _send(
        socket,
        {
            "type": "connection_init",
            "payload": {"authorization": f"Bearer {token_for(actor)}", "tenant": actor.tenant_slug, **payload},
        },
    )
    assert await _receive(socket) == {"type": "connection_ack"}


async def _events_until_done(socket: ClientConnection, operation_id: str) -> list[dict[str, Any]]:
    """Every message of `operation_id` up to its complete or error (pings answered on the way)."""
    seen: list[dict[str, Any]] = []
    while True:
        message = await _receive(socket)
        if message["type"] == "ping":
            # The server may close right after its ping (a token expiring): the messages it sent before the close
            # are still to be read, so a pong that can no longer be sent is not the test's failure.
            with contextlib.suppress(ConnectionClosed):
                await _send(socket, {"type": "pong"})
            continue
        assert message.get("id") == operation_id, message
        seen.append(message)
        if message["type"] in ("complete", "error"):
            return seen


async def _close_code(socket: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), _WAIT_S)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def _queued_import(cost_gql: GraphQL, actor: Actor, tmp_path: Path, rows: int = 5) -> str:
    path = write_legacy_csv(
        tmp_path / f"cur-{uuid.uuid4().hex}.csv", [{"lineItem/UsageAccountId": uuid.uuid4().hex[:12]}] * rows
    )
    queued = (await cost_gql(actor, COST_IMPORT, {"path": str(path)}))["data"]["importCostReport"]
    assert queued["status"] == "QUEUED", queued
    return str(queued["id"])


async def test_a_subscriber_follows_a_real_import_to_succeeded(
    ws_url: str, cost_gql: GraphQL, world: World, run_job: RunJob, tmp_path: Path
) -> None:
    admin = world.actor("billing_admin")
    import_id = await _queued_import(cost_gql, admin, tmp_path, rows=20_000)
    async with _socket(ws_url) as socket:
        await _initialised(socket, admin)
        await _send(
            socket,
            {"id": "1", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": import_id}}},
        )
        first = await _receive(socket)
        assert first == {
            "id": "1",
            "type": "next",
            "payload": {
                "data": {
                    "costImportProgress": {"id": import_id, "status": "QUEUED", "rowsProcessed": 0, "bytesProcessed": 0}
                }
            },
        }
        job = asyncio.ensure_future(run_job(admin, import_id))
        rest = await _events_until_done(socket, "1")
        finished = await job
    assert rest[-1] == {"id": "1", "type": "complete"}
    events = [m["payload"]["data"]["costImportProgress"] for m in rest[:-1]]
    assert all("errors" not in m["payload"] for m in rest[:-1])
    assert events[-1]["status"] == "SUCCEEDED"
    assert events[-1]["rowsProcessed"] == finished.rows == 20_000
    assert all(e["status"] in ("QUEUED", "RUNNING", "SUCCEEDED") for e in events)
    rows = [e["rowsProcessed"] for e in events]
    assert rows == sorted(rows)  # progress only grows
    assert len({json.dumps(e, sort_keys=True) for e in [first["payload"], *events]}) == len(events) + 1  # no repeats


async def test_a_subscriber_follows_an_invoice_run(
    ws_url: str,
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    cost_store: CostStore,
    database: Database,
) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    queued = await cost_gql(admin, 'mutation { closeInvoices(period: "2026-10") { ... on InvoiceRun { id } } }')
    run_id = queued["data"]["closeInvoices"]["id"]
    async with _socket(ws_url) as socket:
        await _initialised(socket, admin)
        await _send(
            socket, {"id": "run", "type": "subscribe", "payload": {"query": RUN_PROGRESS, "variables": {"id": run_id}}}
        )
        assert (await _receive(socket))["payload"]["data"]["invoiceRunProgress"]["status"] == "QUEUED"
        assert admin.user_id is not None
        job = asyncio.create_task(
            run_close_job(database, cost_store, row_id(run_id), Member(admin.user_id, admin.tenant_id))
        )
        events = await _events_until_done(socket, "run")
        await job
    assert events[-1] == {"id": "run", "type": "complete"}
    assert events[-2]["payload"] == {
        "data": {"invoiceRunProgress": {"status": "SUCCEEDED", "total": 2, "closed": 2, "failed": 0}}
    }


async def test_a_subscriber_follows_an_assembly_through_its_parts(
    ws_url: str,
    cost_gql: GraphQL,
    world: World,
    database: Database,
    cost_store: CostStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "billing" / "cur" / "report" / "20231101-20231201" / "a1"
    folder.mkdir(parents=True)
    accounts = new_accounts(2)
    parts = [write_legacy_csv(folder / f"report-{n}.csv", legacy_rows(accounts, 50, n)) for n in range(2)]
    manifest = legacy_manifest(folder.parent, Path("/"), parts, header_of(parts[0]), "a1")
    admin = world.actor("billing_admin")
    queued = (await cost_gql(admin, ASSEMBLY_IMPORT, {"manifest": str(manifest)}))["data"]["importCostAssembly"]
    assert queued["status"] == "QUEUED", queued
    async with _socket(ws_url) as socket:
        await _initialised(socket, admin)
        await _send(
            socket,
            {
                "id": "a",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($id: ID!) {"
                    " costAssemblyProgress(id: $id) { status partsDone rowsProcessed } }",
                    "variables": {"id": queued["id"]},
                },
            },
        )
        first = await _receive(socket)
        assert first["payload"]["data"]["costAssemblyProgress"] == {
            "status": "QUEUED",
            "partsDone": 0,
            "rowsProcessed": 0,
        }
        job = asyncio.ensure_future(run_assembly(database, cost_store, settings.cost_import_sources, admin, queued))
        events = await _events_until_done(socket, "a")
        await job
    assert events[-1] == {"id": "a", "type": "complete"}
    assert events[-2]["payload"]["data"]["costAssemblyProgress"] == {
        "status": "SUCCEEDED",
        "partsDone": 2,
        "rowsProcessed": 100,
    }


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"authorization": "Bearer not-a-jwt"}, {"authorization": "Basic dXNlcjpwYXNz"}],
    ids=["no-payload", "no-token", "bad-token", "not-bearer"],
)
async def test_without_valid_credentials_the_socket_closes_4401(
    ws_url: str, world: World, owner_conn: psycopg.Connection, payload: dict[str, Any] | None
) -> None:
    users = owner_conn.execute("select count(*) from users").fetchone()
    async with _socket(ws_url) as socket:
        await _send(socket, {"type": "connection_init", **({} if payload is None else {"payload": payload})})
        assert await _close_code(socket) == 4401
    assert owner_conn.execute("select count(*) from users").fetchone() == users


async def test_subscribing_before_connection_init_closes_4401(ws_url: str, world: World) -> None:
    async with _socket(ws_url) as socket:
        await _send(
            socket,
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": IMPORT_PROGRESS, "variables": {"id": gid("CostImport", uuid.uuid4())}},
            },
        )
        assert await _close_code(socket) == 4401


async def test_a_tenant_that_is_not_yours_closes_4403(ws_url: str, world: World) -> None:
    owner = world.actor("startup_owner")
    async with _socket(ws_url) as socket:
        await _send(
            socket,
            {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {token_for(owner)}", "tenant": world.slugs["operator"]},
            },
        )
        assert await _close_code(socket) == 4403


async def test_another_operators_import_is_not_found_and_completes(
    ws_url: str,
    cost_gql: GraphQL,
    world: World,
    make_world: Callable[[], World],
    tmp_path: Path,
    owner_conn: psycopg.Connection,
) -> None:
    import_id = await _queued_import(cost_gql, world.actor("billing_admin"), tmp_path)
    before = owner_conn.execute(
        "select status, rows, job_id from cost_imports where id = %s", (row_id(import_id),)
    ).fetchone()
    stranger = make_world().actor("billing_admin")  # a billing admin of another operator
    async with _socket(ws_url) as socket:
        await _initialised(socket, stranger)
        for operation_id, target in (("foreign", import_id), ("unknown", gid("CostImport", uuid.uuid4()))):
            await _send(
                socket,
                {
                    "id": operation_id,
                    "type": "subscribe",
                    "payload": {"query": IMPORT_PROGRESS, "variables": {"id": target}},
                },
            )
            error, complete = await _events_until_done(socket, operation_id)
            assert error["type"] == "next"
            assert error["payload"]["data"] is None
            (only,) = error["payload"]["errors"]
            assert only["extensions"]["code"] == "NOT_FOUND"
            assert complete == {"id": operation_id, "type": "complete"}
    async with _socket(ws_url) as socket:  # a startup's owner is refused by role before anything is read
        await _initialised(socket, world.actor("startup_owner"))
        await _send(
            socket,
            {"id": "x", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": import_id}}},
        )
        error, _ = await _events_until_done(socket, "x")
        assert error["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (
        owner_conn.execute(
            "select status, rows, job_id from cost_imports where id = %s", (row_id(import_id),)
        ).fetchone()
        == before
    )


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://app.example"])
async def test_a_disallowed_origin_is_refused_at_the_handshake(ws_url: str, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with _socket(ws_url, origin=origin):
            pass
    assert refused.value.response.status_code == 403


async def test_the_allowed_origin_and_the_servers_own_are_accepted(ws_url: str, world: World) -> None:
    for origin in (ALLOWED_ORIGIN, ws_url.replace("ws://", "http://").removesuffix("/graphql"), None):
        async with _socket(ws_url, origin=origin) as socket:
            await _initialised(socket, world.actor("billing_admin"))


async def test_a_client_without_the_subprotocol_is_refused(ws_url: str) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(ws_url, subprotocols=[Subprotocol("graphql-ws")], open_timeout=_WAIT_S):
            pass


async def test_subscriptions_per_connection_are_limited(
    ws_url: str, cost_gql: GraphQL, world: World, tmp_path: Path
) -> None:
    admin = world.actor("billing_admin")
    ids = [await _queued_import(cost_gql, admin, tmp_path) for _ in range(3)]  # queued: they never finish here
    async with _socket(ws_url) as socket:
        await _initialised(socket, admin)
        for n, import_id in enumerate(ids[:2]):
            await _send(
                socket,
                {
                    "id": str(n),
                    "type": "subscribe",
                    "payload": {"query": IMPORT_PROGRESS, "variables": {"id": import_id}},
                },
            )
            assert (await _receive(socket))["type"] == "next"
        await _send(
            socket, {"id": "2", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": ids[2]}}}
        )
        refused = await _receive(socket)
        assert (refused["id"], refused["type"]) == ("2", "error")
        assert refused["payload"][0]["extensions"]["code"] == "SUBSCRIPTION_LIMIT"
        await _send(socket, {"id": "0", "type": "complete"})
        await _send(
            socket, {"id": "2", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": ids[2]}}}
        )
        accepted = await _receive(socket)
        assert (accepted["id"], accepted["type"]) == ("2", "next")
        assert accepted["payload"]["data"]["costImportProgress"]["id"] == ids[2]


async def test_only_subscriptions_run_over_the_socket(ws_url: str, world: World) -> None:
    async with _socket(ws_url) as socket:
        await _initialised(socket, world.actor("billing_admin"))
        await _send(socket, {"id": "q", "type": "subscribe", "payload": {"query": "{ me { user { email } } }"}})
        refused = await _receive(socket)
        assert (refused["id"], refused["type"]) == ("q", "error")
        await _send(socket, {"id": "m", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": 3}})
        assert await _close_code(socket) == 4400


async def test_lifetime_and_idle_timeout_end_what_outlives_them(
    ws_url_for: Callable[..., Any], cost_gql: GraphQL, world: World, tmp_path: Path
) -> None:
    admin = world.actor("billing_admin")
    import_id = await _queued_import(cost_gql, admin, tmp_path)
    with ws_url_for(
        subscription_max_lifetime_s=0.5,
        subscription_poll_interval_s=0.1,
        subscription_idle_timeout_s=1.5,
        subscription_init_timeout_s=0.5,
    ) as url:
        async with _socket(url) as socket:
            await _initialised(socket, admin)
            await _send(
                socket,
                {"id": "1", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": import_id}}},
            )
            queued, expired, complete = await _events_until_done(socket, "1")
            assert queued["payload"]["data"]["costImportProgress"]["status"] == "QUEUED"
            assert expired["payload"]["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_EXPIRED"
            assert complete["type"] == "complete"
            assert await _receive(socket) == {"type": "ping"}  # not answered: the connection goes idle
            assert await _close_code(socket) == 4408
        async with _socket(url) as socket:  # and one that never sends connection_init
            assert await _close_code(socket) == 4408


async def test_no_subscription_outlives_its_token(ws_url: str, cost_gql: GraphQL, world: World, tmp_path: Path) -> None:
    admin = world.actor("billing_admin")
    import_id = await _queued_import(cost_gql, admin, tmp_path)
    async with _socket(ws_url) as socket:
        await _send(
            socket,
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token_for(admin, ttl_seconds=6)}"}},
        )
        assert await _receive(socket) == {"type": "connection_ack"}
        await _send(
            socket,
            {"id": "1", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": import_id}}},
        )
        queued, expired = await _events_until_done(socket, "1")
        assert queued["payload"]["data"]["costImportProgress"]["status"] == "QUEUED"
        assert expired["type"] == "error"
        assert expired["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert await _close_code(socket) == 4401  # the token's exp ends the connection too


async def test_credentials_are_checked_again_before_every_subscription(
    ws_url: str, cost_gql: GraphQL, world: World, tmp_path: Path, owner_conn: psycopg.Connection
) -> None:
    admin = world.actor("billing_admin")
    import_id = await _queued_import(cost_gql, admin, tmp_path)
    async with _socket(ws_url) as socket:
        await _initialised(socket, admin)
        owner_conn.execute(
            "delete from memberships where user_id = %s and tenant_id = %s", (admin.user_id, admin.tenant_id)
        )
        await _send(
            socket,
            {"id": "1", "type": "subscribe", "payload": {"query": IMPORT_PROGRESS, "variables": {"id": import_id}}},
        )
        assert await _close_code(socket) == 4403  # no longer a member: nothing was read
