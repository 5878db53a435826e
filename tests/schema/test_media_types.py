"""GraphQL over HTTP: `application/graphql-response+json` when the client prefers it, with the spec's status
codes; `application/json` keeps 200 for every GraphQL result."""

from typing import Any

import httpx
import pytest

from schema.media_types import GRAPHQL_RESPONSE, JSON, response_media_type
from tests.plugins.graphql import token_for
from tests.plugins.world import World

PREFERS_RESPONSE = {"accept": f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"}
STARTUP_QUERY = "query($slug: String!) { tenant(slug: $slug) { slug } }"

# name → (request body or raw bytes, status under graphql-response+json, status under application/json, code)
CASES: dict[str, tuple[Any, int, int, str]] = {
    "bad-json": (b"{not json", 400, 400, "BAD_REQUEST"),
    "no-query": ({"variables": {}}, 400, 400, "BAD_REQUEST"),
    "parse-error": ({"query": "{ me { "}, 400, 200, "GRAPHQL_VALIDATION_FAILED"),
    "validation-error": ({"query": "{ noSuchField }"}, 400, 200, "GRAPHQL_VALIDATION_FAILED"),
    "unknown-operation": (
        {"query": "query A { me { user { email } } }", "operationName": "B"},
        400,
        200,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "variables-do-not-coerce": ({"query": STARTUP_QUERY, "variables": {"slug": 1.5}}, 400, 200, "BAD_USER_INPUT"),
    "field-error": ({"query": STARTUP_QUERY, "variables": {"slug": "no-such-tenant"}}, 200, 200, "NOT_FOUND"),
}


def _send(client: httpx.AsyncClient, request: Any, headers: dict[str, str]) -> Any:
    if isinstance(request, bytes):
        return client.post("/graphql", content=request, headers={**headers, "content-type": "application/json"})
    return client.post("/graphql", json=request, headers=headers)


@pytest.mark.parametrize("case", list(CASES))
async def test_status_codes_under_both_media_types(http_client: httpx.AsyncClient, world: World, case: str) -> None:
    request, response_status, json_status, code = CASES[case]
    bearer = {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
    modern = await _send(http_client, request, {**bearer, **PREFERS_RESPONSE})
    legacy = await _send(http_client, request, bearer)
    assert (modern.status_code, legacy.status_code) == (response_status, json_status)
    assert modern.headers["content-type"] == GRAPHQL_RESPONSE
    assert legacy.headers["content-type"] == JSON
    for response in (modern, legacy):
        assert response.json()["errors"][0]["extensions"]["code"] == code
    if response_status == 400:
        assert "data" not in modern.json()  # the request never executed
    if json_status == 200:
        assert "data" in legacy.json()


async def test_an_executed_request_is_200_with_its_data(http_client: httpx.AsyncClient, world: World) -> None:
    actor = world.actor("startup_owner")
    response = await http_client.post(
        "/graphql",
        json={"query": STARTUP_QUERY, "variables": {"slug": actor.tenant_slug}},
        headers={"authorization": f"Bearer {token_for(actor)}", **PREFERS_RESPONSE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {"data": {"tenant": {"slug": actor.tenant_slug}}}


async def test_anonymous_execution_is_200_with_unauthenticated(http_client: httpx.AsyncClient) -> None:
    response = await http_client.post("/graphql", json={"query": "{ me { user { email } } }"}, headers=PREFERS_RESPONSE)
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_transport_refusals_keep_their_status(http_client: httpx.AsyncClient, world: World, accept: str) -> None:
    query = {"query": "{ me { user { email } } }"}
    bad_token = await http_client.post(
        "/graphql", json=query, headers={"accept": accept, "authorization": "Bearer not-a-jwt"}
    )
    foreign = await http_client.post(
        "/graphql",
        json=query,
        headers={
            "accept": accept,
            "authorization": f"Bearer {token_for(world.actor('startup_owner'))}",
            "x-tenant": world.slugs["other_startup"],
        },
    )
    form = await http_client.post("/graphql", data=query, headers={"accept": accept})
    assert [r.status_code for r in (bad_token, foreign, form)] == [401, 403, 415]
    assert {r.headers["content-type"] for r in (bad_token, foreign, form)} == {accept}
    assert [r.json()["errors"][0]["extensions"]["code"] for r in (bad_token, foreign, form)] == [
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "UNSUPPORTED_MEDIA_TYPE",
    ]


async def test_a_server_fault_before_execution_is_500_under_graphql_response_json(
    http_client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import strawberry

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(strawberry.Schema, "execute", broken)
    headers = {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
    modern = await http_client.post(
        "/graphql", json={"query": "{ me { user { email } } }"}, headers={**headers, **PREFERS_RESPONSE}
    )
    legacy = await http_client.post("/graphql", json={"query": "{ me { user { email } } }"}, headers=headers)
    assert (modern.status_code, legacy.status_code) == (500, 200)
    assert modern.json()["errors"][-1]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in modern.text


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("text/html", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE};q=0", JSON),
        (f"{GRAPHQL_RESPONSE};q=abc", JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON; charset=utf-8", GRAPHQL_RESPONSE),
    ],
)
def test_negotiation(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected
