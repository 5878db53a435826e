"""A body or variables nested thousands of levels deep is the client's mistake: a 400 JSON error with
BAD_USER_INPUT and the request id, decided before any database work, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.plugins.graphql import counting_checkouts, token_for
from tests.plugins.world import World

ME = "{ me { role } }"  # variables it does not declare are parsed, then ignored


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    "body",
    [
        _deep(2_000),  # the whole body
        '{"query": "{ me { role } }", "variables": {"x": ' + _deep(2_000) + "}}",
        '{"query": "{ me { role } }", "variables": {"x": ' + _deep(100) + "}}",  # parses, but past the limit
        '{"query": "{ me { role } }", "extensions": ' + '{"a": ' * 2_000 + "1" + "}" * 2_000 + "}",
    ],
    ids=["body", "variables", "variables-100", "objects"],
)
async def test_deep_json_is_bad_user_input_with_the_request_id(
    http_client: httpx.AsyncClient, world: World, body: str
) -> None:
    headers = {
        "authorization": f"Bearer {token_for(world.actor('startup_member'))}",
        "content-type": "application/json",
    }
    with counting_checkouts(http_client) as taken:
        response = await http_client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "requestId": response.headers["x-request-id"]}
    assert "deeper than 64 levels" in error["message"]
    assert "ROUNDPOOL_MAX_JSON_DEPTH" in error["message"]
    assert taken == []  # refused before the principal was even looked up


async def test_variables_within_the_depth_limit_still_run(http_client: httpx.AsyncClient, world: World) -> None:
    headers = {"authorization": f"Bearer {token_for(world.actor('startup_member'))}"}
    variables = {"x": [[[[{"a": [1, 2, {"b": "c"}]}]]]]}
    response = await http_client.post("/graphql", json={"query": ME, "variables": variables}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"role": "MEMBER"}}}
