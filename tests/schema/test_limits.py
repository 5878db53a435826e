"""Request limits reject hostile documents before execution (anonymous requests: no database work)."""

import httpx

from tests.plugins.graphql import counting_checkouts, token_for
from tests.plugins.world import World


def _codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]


async def test_a_deep_query_is_rejected(http_client: httpx.AsyncClient) -> None:
    nested = "profile { company { " * 10 + "slug" + " } }" * 10
    query = '{ tenant(slug: "x") { ' + nested + " } }"
    with counting_checkouts(http_client) as taken:
        response = await http_client.post("/graphql", json={"query": query})
    assert "exceeds maximum operation depth" in response.text
    assert response.json()["data"] is None
    assert taken == []


async def test_a_thousand_aliases_are_rejected(http_client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(1000)) + " }"
    response = await http_client.post("/graphql", json={"query": query})
    assert response.status_code in (200, 413)
    assert response.json()["data"] is None
    assert "alias" in response.text.lower() or "token" in response.text.lower() or response.status_code == 413


async def test_many_aliases_within_the_byte_limit_are_rejected_by_the_alias_limit(
    http_client: httpx.AsyncClient,
) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(40)) + " }"
    response = await http_client.post("/graphql", json={"query": query})
    assert "aliases" in response.text.lower()
    assert response.json()["data"] is None


async def test_too_many_tokens_are_rejected(http_client: httpx.AsyncClient) -> None:
    query = "{ me { user { " + " ".join(["email"] * 2500) + " } } }"
    response = await http_client.post("/graphql", json={"query": query})
    assert "more than 2000 tokens" in response.text
    assert _codes(response) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_an_oversized_body_is_refused_with_413(http_client: httpx.AsyncClient) -> None:
    query = "{ me { role } }" + " " * 200_000
    response = await http_client.post("/graphql", json={"query": query})
    assert response.status_code == 413


async def test_a_page_larger_than_the_maximum_is_bad_input(http_client: httpx.AsyncClient, world: World) -> None:
    headers = {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
    query = "query($first: Int) { tenants(first: $first) { edges { cursor } } }"
    response = await http_client.post("/graphql", json={"query": query, "variables": {"first": 1000}}, headers=headers)
    assert _codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["errors"][0]["extensions"]["field"] == "first"
    within = await http_client.post("/graphql", json={"query": query, "variables": {"first": 100}}, headers=headers)
    assert "errors" not in within.json()
