"""What a token's request costs the database, through HTTP as the real app role: the opening (BEGIN and
app.open_request, one simple query on the driver) answers the principal, the user and the acting tenant, so
`me` runs no statement of its own and a page runs only its query; a non-member is refused before any."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from sqlalchemy import event

from tests.plugins.graphql import token_for
from tests.plugins.world import World

ME = "query { me { user { email } actingTenant { slug name kind } role } }"
PAGE = "query { auditEvents(first: 20) { edges { node { id action } } pageInfo { hasNextPage } } }"


@contextmanager
def _statements(client: httpx.AsyncClient) -> Iterator[list[str]]:
    """Every statement the app's engine sends through SQLAlchemy while the block runs."""
    engine = client.app.state.runtime.database.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _post(client: httpx.AsyncClient, token: str, query: str, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}", **headers})


async def test_me_is_answered_by_the_opening_alone(http_client: httpx.AsyncClient, world: World) -> None:
    owner = world.actor("startup_owner")
    token = token_for(owner)
    await _post(http_client, token, ME)  # the document cache and the token cache warm
    with _statements(http_client) as seen:
        response = await _post(http_client, token, ME)
    assert response.status_code == 200
    me = response.json()["data"]["me"]
    assert me == {
        "user": {"email": owner.email},
        "actingTenant": {"slug": owner.tenant_slug, "name": me["actingTenant"]["name"], "kind": "STARTUP"},
        "role": "OWNER",
    }
    assert me["actingTenant"]["name"]
    assert seen == []


async def test_a_page_runs_only_its_query(
    http_client: httpx.AsyncClient, world: World, owner_conn: psycopg.Connection
) -> None:
    owner = world.actor("startup_owner")
    token = token_for(owner)
    await _post(http_client, token, PAGE)
    with _statements(http_client) as seen:
        response = await _post(http_client, token, PAGE)
    assert response.status_code == 200
    ids = [e["node"]["id"] for e in response.json()["data"]["auditEvents"]["edges"]]
    expected = owner_conn.execute(
        "select count(*) from audit_events where tenant_id = %s", (owner.tenant_id,)
    ).fetchone()
    assert expected is not None
    assert len(ids) == min(20, expected[0])
    assert len(seen) == 1
    assert "audit_events" in seen[0]


async def test_a_non_member_is_refused_before_any_statement(
    http_client: httpx.AsyncClient, world: World, owner_conn: psycopg.Connection
) -> None:
    owner, other = world.actor("startup_owner"), world.actor("other_startup_owner")
    users = owner_conn.execute("select count(*) from users").fetchone()
    with _statements(http_client) as seen:
        response = await _post(http_client, token_for(owner), ME, **{"x-tenant": str(other.tenant_slug)})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "not a member" in response.json()["errors"][0]["message"]
    assert seen == []
    assert owner_conn.execute("select count(*) from users").fetchone() == users
