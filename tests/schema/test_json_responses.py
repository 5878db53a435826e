"""GraphQL answers are encoded by orjson (schema/json_responses.py) into the bytes Starlette's encoder writes, and
what orjson refuses is encoded (or refused) by Starlette's encoder as before."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse

from schema.json_responses import GraphQLJSONResponse
from tests.plugins.graphql import token_for
from tests.plugins.world import World

BODIES: list[Any] = [
    {"data": None, "errors": [{"message": "x", "path": ["a", 0, "b"], "extensions": {"code": "NOT_FOUND"}}]},
    {"data": {"name": "Société Générale — 株式会社 ✓", "quote": 'a "b" \\ c\n\t', "nul": "\u0000\u2028"}},
    {"data": {"n": 0, "neg": -2147483648, "ratio": 0.25, "small": 0.1, "flag": True, "none": None, "list": []}},
    {"data": {"deep": [[{"a": [1, {"b": {}}]}]]}},
]


@pytest.mark.parametrize("body", BODIES)
def test_the_bytes_are_starlettes(body: Any) -> None:
    assert GraphQLJSONResponse(body).body == JSONResponse(body).body


def test_an_integer_orjson_refuses_is_encoded_by_starlettes_encoder() -> None:
    body = {"data": {"details": {"big": 2**70, "negative": -(2**65)}}}
    assert (
        GraphQLJSONResponse(body).body
        == JSONResponse(body).body
        == b'{"data":{"details":{"big":1180591620717411303424,"negative":-36893488147419103232}}}'
    )


def test_what_neither_can_encode_is_refused_as_before() -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        JSONResponse({"data": float("nan")})
    with pytest.raises(ValueError, match="Out of range float values"):
        GraphQLJSONResponse({"data": {1: float("nan")}})  # orjson refuses the key; Starlette the NaN


async def test_graphql_answers_over_http_are_orjsons(http_client: httpx.AsyncClient, world: World) -> None:
    actor = world.actor("startup_owner")
    query = {"query": "{ auditEvents(first: 3) { edges { node { id action details occurredAt } } } }"}
    response = await http_client.post("/graphql", json=query, headers={"authorization": f"Bearer {token_for(actor)}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == JSONResponse(response.json()).body
