"""GET /metrics: requests and latency by operation (bounded), errors by code, the pool, the job queue; only
with ROUNDPOOL_METRICS_TOKEN and its bearer token, and without tenant data."""

import re
from typing import Any

import httpx
import pytest

from tests.plugins.graphql import ClientFor, token_for
from tests.plugins.world import World

TOKEN = "metrics-token-" + "z" * 24


def _sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return None


async def test_metrics_after_requests(client_for: ClientFor, world: World, owner_conn: Any) -> None:
    actor = world.actor("startup_owner")
    bearer = {"authorization": f"Bearer {token_for(actor)}"}
    owner_conn.execute(
        "insert into procrastinate_jobs (queue_name, task_name, args, status) values"
        " ('metrics-test', 'noop', '{}', 'todo'), ('metrics-test', 'noop', '{}', 'failed')"
    )
    try:
        async with client_for(metrics_token=TOKEN) as client:
            for _ in range(2):
                await client.post("/graphql", json={"query": "query Me { me { user { email } } }"}, headers=bearer)
            await client.post("/graphql", json={"query": "{ me { user { email } } }"})
            await client.post("/graphql", json={"query": "{ noSuchField }"}, headers=bearer)
            await client.post(
                "/graphql", json={"query": "{ me { user { email } } }"}, headers={"authorization": "Bearer not-a-jwt"}
            )
            response = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    finally:
        owner_conn.execute("delete from procrastinate_jobs where queue_name = 'metrics-test'")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _sample(text, "roundpool_graphql_requests_total", operation="Me", status="200") == 2
    assert _sample(text, "roundpool_graphql_requests_total", operation="anonymous", status="401") == 1
    assert _sample(text, "roundpool_graphql_request_duration_seconds_count", operation="Me") == 2
    assert _sample(text, "roundpool_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert _sample(text, "roundpool_graphql_errors_total", code="UNAUTHENTICATED") == 2  # anonymous me, bad token
    assert _sample(text, "roundpool_db_pool_connections", state="size") == 10
    assert _sample(text, "roundpool_db_pool_connections", state="checked_out") == 0  # read before the scrape takes one
    assert _sample(text, "roundpool_jobs", queue="metrics-test", status="todo") == 1
    assert _sample(text, "roundpool_jobs", queue="metrics-test", status="failed") == 1
    assert _sample(text, "roundpool_jobs", queue="metrics-test", status="doing") == 0
    for secret in (actor.email, world.slugs["startup"], str(world.tenants["startup"])):
        assert secret not in text


async def test_operation_names_are_bounded(client_for: ClientFor) -> None:
    async with client_for(metrics_token=TOKEN, metrics_max_operations=2) as client:
        for name in ("A", "B", "C", "D"):
            await client.post("/graphql", json={"query": f"query {name} {{ me {{ user {{ email }} }} }}"})
        await client.post("/graphql", json={"query": "{ me { user { email } } }", "operationName": "x" * 500})
        text = (await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})).text
    operations = set(re.findall(r'roundpool_graphql_requests_total\{operation="([^"]*)"', text))
    assert operations == {"A", "B", "other", "invalid"}


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-" + "z" * 20, TOKEN, f"Basic {TOKEN}"])
async def test_metrics_need_the_token(client_for: ClientFor, header: str | None) -> None:
    async with client_for(metrics_token=TOKEN) as client:
        response = await client.get("/metrics", headers={"authorization": header} if header else {})
    assert response.status_code == 401
    assert "roundpool_" not in response.text


async def test_no_metrics_without_a_token(http_client: httpx.AsyncClient) -> None:
    assert (await http_client.get("/metrics")).status_code == 404
