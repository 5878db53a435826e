"""A transaction that cannot get a connection answers DATABASE_UNAVAILABLE, not a masked internal error.

The attack surface is the VC's audited read: its rows may leave only once the side transaction committed their
`grant.read` events. With the side pool unable to connect (here: the server refuses it a database), the field
must fail with the typed error, its rows must not be in the response, and nothing may be written.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
import strawberry
from psycopg.conninfo import conninfo_to_dict

from db.session import Database
from resolvers.common.principals import Member
from schema.app import create_app
from schema.execution import GraphQLRequest, execute
from schema.media_types import GRAPHQL_RESPONSE, graphql_status
from schema.settings import Settings
from tests.plugins.captable import SeedCapTable, counts
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import token_for
from tests.plugins.world import World

PORTFOLIO = "query { portfolio { company { slug } ownership stakeholderIds } }"


def _audit_rows(owner_conn: psycopg.Connection) -> int:
    row = owner_conn.execute("select count(*) from audit_events").fetchone()
    assert row is not None
    return int(row[0])


def _with_side_database(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}side_database={name}"


@pytest.fixture
async def side_refused(settings: Settings, test_database: TestDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to an app whose main pool works and whose side pool the server refuses (no such database)."""
    app = create_app(settings, _with_side_database(test_database.app_url, f"rp_nowhere_{uuid.uuid4().hex[:8]}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_a_granted_read_whose_side_transaction_cannot_connect_answers_unavailable_without_its_rows(
    side_refused: httpx.AsyncClient,
    world: World,
    seed_cap_table: SeedCapTable,
    owner_conn: psycopg.Connection,
) -> None:
    await seed_cap_table(world)
    vc = world.actor("vc_active")
    tables_before, audit_before = counts(owner_conn), _audit_rows(owner_conn)

    response = await side_refused.post(
        "/graphql", json={"query": PORTFOLIO}, headers={"authorization": f"Bearer {token_for(vc)}"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(e.get("path"), e["extensions"]["code"]) for e in body["errors"]] == [
        (["portfolio"], "DATABASE_UNAVAILABLE")
    ], body
    assert body["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]
    assert body["data"] == {"portfolio": None}  # the granted rows went nowhere
    assert world.slugs["startup"] not in response.text
    assert f"startup {world.suffix}" not in response.text
    assert "rp_nowhere" not in response.text  # the driver's reason (it names the database) stays in the log
    assert counts(owner_conn) == tables_before
    assert _audit_rows(owner_conn) == audit_before


async def test_the_same_read_with_a_reachable_side_pool_is_served_and_audited(
    http_client: httpx.AsyncClient, world: World, seed_cap_table: SeedCapTable, owner_conn: psycopg.Connection
) -> None:
    """The control: the refusal above is the side pool's, not the document's."""
    await seed_cap_table(world)
    audit_before = _audit_rows(owner_conn)
    response = await http_client.post(
        "/graphql",
        json={"query": PORTFOLIO},
        headers={"authorization": f"Bearer {token_for(world.actor('vc_active'))}"},
    )
    assert "errors" not in response.json(), response.text
    assert [e["company"]["slug"] for e in response.json()["data"]["portfolio"]] == [world.slugs["startup"]]
    assert _audit_rows(owner_conn) == audit_before + 1


async def test_a_request_whose_main_transaction_cannot_connect_answers_unavailable(
    schema: strawberry.Schema, world: World, test_database: TestDatabase, owner_conn: psycopg.Connection
) -> None:
    parts = conninfo_to_dict(test_database.app_url)
    closed_port = f"postgresql://{parts['user']}@127.0.0.1:1/{parts['dbname']}"
    database = Database(closed_port, pool_size=1)
    vc = world.actor("vc_active")
    assert vc.user_id is not None
    audit_before = _audit_rows(owner_conn)
    try:
        body = await execute(
            schema,
            database,
            Member(vc.user_id, vc.tenant_slug),
            GraphQLRequest(PORTFOLIO),
            request_id="unavailable-main",
            max_page_size=100,
        )
    finally:
        await database.dispose()

    assert body["data"] is None
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "DATABASE_UNAVAILABLE", "requestId": "unavailable-main"}
    ], body
    assert "127.0.0.1" not in str(body)
    assert graphql_status(body, GRAPHQL_RESPONSE)[0] == 503
    assert _audit_rows(owner_conn) == audit_before


async def test_a_rate_limited_request_whose_bucket_cannot_be_reached_answers_unavailable(
    settings: Settings, test_database: TestDatabase, world: World, owner_conn: psycopg.Connection
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 600})
    app = create_app(limited, _with_side_database(test_database.app_url, f"rp_nowhere_{uuid.uuid4().hex[:8]}"))
    owner = world.actor("startup_owner")
    audit_before = _audit_rows(owner_conn)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql",
                json={"query": "query { me { actingTenant { slug } } }"},
                headers={"authorization": f"Bearer {token_for(owner)}"},
            )
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["DATABASE_UNAVAILABLE"], body
    assert body["data"] is None
    assert world.slugs["startup"] not in response.text
    assert "rp_nowhere" not in response.text
    assert _audit_rows(owner_conn) == audit_before
