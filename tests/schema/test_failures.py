"""Faults while siblings are running, and faults outside any resolver: the client always gets a JSON
GraphQL response with a code and the request id, and the transaction ends cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from tests.plugins.database import TestDatabase
from tests.plugins.graphql import token_for
from tests.plugins.world import World

# `tenant` fails first; `funds` is then waiting on PostgreSQL (its table is locked by another session).
SIBLINGS = '{ tenant(slug: "no-such-tenant") { slug } funds { edges { node { id name } } } }'


@contextmanager
def table_locked(owner_url: str, table: str, seconds: float) -> Iterator[None]:
    """Another session holds an exclusive lock for `seconds`, so statements on `table` wait."""
    locked = threading.Event()

    def hold() -> None:
        with psycopg.connect(owner_url) as conn:
            conn.execute(f"lock table {table} in access exclusive mode")
            locked.set()
            time.sleep(seconds)

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()
    try:
        yield
    finally:
        holder.join()


def _pool_in_use(client: httpx.AsyncClient) -> int:
    return client.app.state.runtime.database.engine.pool.checkedout()  # type: ignore[attr-defined,no-any-return]


async def _division_by_zero(ctx: Any, slug: str) -> Any:
    await ctx.tx.execute(text("select 1 / 0"))


async def _statement_timeout(ctx: Any, slug: str) -> Any:
    await ctx.tx.execute(text("select set_config('statement_timeout', '50', true)"))
    await ctx.tx.execute(text("select pg_sleep(1)"))


async def _unexpected(ctx: Any, slug: str) -> Any:
    await ctx.tx.execute(text("select 1"))
    raise RuntimeError("internals: password=hunter2")


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (None, "NOT_FOUND"),
        (_unexpected, "INTERNAL_SERVER_ERROR"),
        (_division_by_zero, "INTERNAL_SERVER_ERROR"),
        (_statement_timeout, "TIMEOUT"),
    ],
    ids=["not-found", "unexpected", "database-error", "statement-timeout"],
)
async def test_a_failing_root_field_while_a_sibling_awaits_the_database_answers_in_json(
    http_client: httpx.AsyncClient,
    world: World,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    failure: Any,
    code: str,
) -> None:
    if failure is not None:
        import resolvers.tenancy.tenants

        monkeypatch.setattr(resolvers.tenancy.tenants, "tenant_by_slug", failure)
    headers = {"authorization": f"Bearer {token_for(world.actor('vc_active'))}", "x-request-id": "req-sibling-1"}
    with table_locked(test_database.owner_url, "funds", 0.5):
        response = await http_client.post("/graphql", json={"query": SIBLINGS}, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "req-sibling-1"
    body = response.json()
    assert body["data"]["tenant"] is None
    if failure in (None, _unexpected):  # root fields are nullable: a sibling the failure did not abort keeps its data
        assert body["data"]["funds"] == {"edges": []}
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert code in codes, body
    assert "hunter2" not in response.text
    for error in body["errors"]:
        if error["extensions"]["code"] in ("INTERNAL_SERVER_ERROR", "TIMEOUT"):
            assert error["extensions"]["requestId"] == "req-sibling-1"
    assert _pool_in_use(http_client) == 0
    after = await http_client.post("/graphql", json={"query": "{ funds { edges { node { id } } } }"}, headers=headers)
    assert after.json() == {"data": {"funds": {"edges": []}}}


async def test_a_healthy_nullable_sibling_keeps_its_data(http_client: httpx.AsyncClient, world: World) -> None:
    query = '{ me { user { email } } customerBilling(tenantSlug: "no-such-tenant") { currency } }'
    actor = world.actor("billing_admin")
    response = await http_client.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token_for(actor)}"}
    )
    body = response.json()
    assert response.status_code == 200
    assert body["data"]["me"] == {"user": {"email": actor.email}}
    assert body["data"]["customerBilling"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_fault_outside_graphql_execution_is_json_with_the_request_id(
    http_client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schema.app

    async def broken(*_: Any) -> Any:
        raise RuntimeError("internals: password=hunter2")

    monkeypatch.setattr(schema.app, "execute_request", broken)
    response = await http_client.post(
        "/graphql",
        json={"query": "{ me { user { email } } }"},
        headers={"authorization": f"Bearer {token_for(world.actor('startup_owner'))}", "x-request-id": "req-outer-1"},
    )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "req-outer-1"
    assert "hunter2" not in response.text
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-outer-1"}


async def test_a_commit_that_fails_returns_no_data_and_the_request_id(
    http_client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resolvers.tenancy.tenants

    original = resolvers.tenancy.tenants.me

    async def defers_a_failing_check(ctx: Any) -> Any:
        # A deferred constraint fails at COMMIT, after every resolver succeeded.
        await ctx.tx.execute(text("create temporary table t (x int unique deferrable initially deferred)"))
        await ctx.tx.execute(text("insert into t values (1), (1)"))
        return await original(ctx)

    monkeypatch.setattr(resolvers.tenancy.tenants, "me", defers_a_failing_check)
    response = await http_client.post(
        "/graphql",
        json={"query": "{ me { user { email } } }"},
        headers={"authorization": f"Bearer {token_for(world.actor('startup_owner'))}", "x-request-id": "req-commit-1"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Internal server error (request id req-commit-1)",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-commit-1"},
        }
    ]
    assert _pool_in_use(http_client) == 0


def test_a_value_the_database_refuses_is_bad_user_input_not_a_masked_fault() -> None:
    from graphql import GraphQLError

    from db.errors import InvalidValue
    from schema.execution import _format

    error = GraphQLError("numeric field overflow", path=["recordFund"], original_error=InvalidValue("overflow"))
    formatted = _format(error, "req-1")

    assert formatted["extensions"] == {"code": "BAD_USER_INPUT", "requestId": "req-1"}
    assert "overflow" not in formatted["message"]
    assert formatted["path"] == ["recordFund"]
