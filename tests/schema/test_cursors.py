"""Crafted cursors on several connections: each is refused as BAD_USER_INPUT naming `after`, never a 500."""

from __future__ import annotations

import base64
import json
import os

import pytest

from tests.plugins.graphql import GraphQL
from tests.plugins.world import World


def _b64(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


# connection field → (actor, document taking $after)
CONNECTIONS = {
    "funds": ("vc_active", "query($after: String) { funds(after: $after) { edges { cursor } } }"),
    "portfolioGrants": (
        "startup_owner",
        "query($after: String) { portfolioGrants(after: $after, first: 2) { edges { cursor } } }",
    ),
    "auditEvents": ("startup_owner", "query($after: String) { auditEvents(after: $after) { edges { cursor } } }"),
    "capTableLedger": ("startup_owner", "query($after: String) { capTableLedger(after: $after) { edges { cursor } } }"),
    "invoices": ("billing_admin", "query($after: String) { invoices(after: $after) { edges { cursor } } }"),
    "companies": ("startup_owner", "query($after: String) { companies(after: $after) { edges { cursor } } }"),
    "tenants": ("startup_owner", "query($after: String) { tenants(after: $after) { edges { cursor } } }"),
    "cloudAccounts": ("billing_admin", "query($after: String) { cloudAccounts(after: $after) { edges { cursor } } }"),
}

CRAFTED = {
    "random-base64": base64.urlsafe_b64encode(os.urandom(48)).decode(),
    "not-base64": "%%%not*base64%%%",
    "base64-of-garbage-json": base64.urlsafe_b64encode(b'{"a": [1, 2').decode(),
    "json-object": _b64({"seq": 1}),
    "empty-list": _b64([]),
    "bare-key": _b64([1]),
    "wrong-types": _b64(["funds", 1e400, {"x": None}]),
    "huge": "A" * 60_000,
    "deep": base64.urlsafe_b64encode(b"[" * 300 + b"]" * 300).decode(),
    "nul-in-text": _b64(["tenants", "a\u0000b"]),
    "bigint-overflow": _b64(["auditEvents", 2**80]),
    "naive-timestamp": _b64(["portfolioGrants", "2024-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]),
}


@pytest.mark.parametrize("connection", sorted(CONNECTIONS))
@pytest.mark.parametrize("crafted", sorted(CRAFTED))
async def test_a_crafted_cursor_is_bad_user_input(gql: GraphQL, world: World, connection: str, crafted: str) -> None:
    actor, document = CONNECTIONS[connection]
    result = await gql(world.actor(actor), document, {"after": CRAFTED[crafted]})
    assert result["data"] == {connection: None}
    (error,) = result["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}, error
    assert error["path"] == [connection]


async def test_a_cursor_of_another_connection_is_refused(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    grants = await gql(owner, CONNECTIONS["portfolioGrants"][1], {"after": None})
    foreign = grants["data"]["portfolioGrants"]["edges"][0]["cursor"]
    # kpiRequests and invoices share the key shape (timestamp, uuid) with portfolioGrants.
    for document in (
        "query($after: String) { kpiRequests(after: $after) { edges { cursor } } }",
        "query($after: String) { companies(after: $after) { edges { cursor } } }",
    ):
        result = await gql(owner, document, {"after": foreign})
        assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"], result
        assert "portfolioGrants" not in result["errors"][0]["message"]  # names the connection asked, not the cursor's


async def test_a_tampered_cursor_is_refused(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    first = await gql(owner, CONNECTIONS["portfolioGrants"][1], {"after": None})
    cursor = first["data"]["portfolioGrants"]["edges"][-1]["cursor"]
    payload = json.loads(base64.urlsafe_b64decode(cursor))
    payload[2] = "not-a-uuid-but-36-characters-long!!!"
    result = await gql(owner, CONNECTIONS["portfolioGrants"][1], {"after": _b64(payload)})
    assert result["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_real_cursors_page_through_without_repeats(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    seen: list[str] = []
    after = None
    for _ in range(10):
        result = await gql(
            owner,
            "query($after: String) { portfolioGrants(after: $after, first: 2) {"
            " edges { node { id } } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )
        assert "errors" not in result, result
        page = result["data"]["portfolioGrants"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == len(world.grants)
