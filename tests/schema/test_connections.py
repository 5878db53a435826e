"""Relay paging both ways: `first`/`after` and `last`/`before` meet without repeats or gaps, `pageInfo` tells
where the page sits, `totalCount` counts under the policies, and `first` with `last` is refused."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from resolvers.common.pages import Cursor
from tests.plugins.graphql import GraphQL
from tests.plugins.world import Actor, World

_PAGE = """
query($first: Int, $after: String, $last: Int, $before: String) {
  %s(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def _page(gql: GraphQL, actor: Actor, field: str, **arguments: Any) -> dict[str, Any]:
    result = await gql(actor, _PAGE % field, arguments)
    assert "errors" not in result, result
    page: dict[str, Any] = result["data"][field]
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


async def _walk_forwards(gql: GraphQL, actor: Actor, field: str, size: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = await _page(gql, actor, field, first=size, after=after)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += _ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


async def _walk_backwards(gql: GraphQL, actor: Actor, field: str, size: int) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        page = await _page(gql, actor, field, last=size, before=before)
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        seen = _ids(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            return seen
        before = page["pageInfo"]["startCursor"]


@pytest.fixture
def audited(owner_conn: psycopg.Connection, world: World) -> World:
    with owner_conn.transaction():
        for _ in range(7):
            owner_conn.execute(
                "insert into audit_events (tenant_id, action, subject_type) values (%s, 'seed', 'test')",
                (world.tenants["startup"],),
            )
    return world


@pytest.mark.parametrize("size", [1, 2, 3, 10])
@pytest.mark.parametrize("field", ["portfolioGrants", "auditEvents"])  # ascending and descending orders
async def test_paging_backwards_returns_the_same_items_as_forwards(
    gql: GraphQL, audited: World, field: str, size: int
) -> None:
    owner = audited.actor("startup_owner")
    everything = _ids(await _page(gql, owner, field, first=50))
    assert len(everything) >= 5
    assert len(set(everything)) == len(everything)
    assert await _walk_forwards(gql, owner, field, size) == everything
    assert await _walk_backwards(gql, owner, field, size) == everything


async def test_before_and_after_bound_a_window(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    everything = await _page(gql, owner, "portfolioGrants", first=50)
    cursors = [edge["cursor"] for edge in everything["edges"]]
    ids = _ids(everything)
    between = await _page(gql, owner, "portfolioGrants", after=cursors[0], before=cursors[4], last=2)
    assert _ids(between) == ids[2:4]
    assert between["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": cursors[2],
        "endCursor": cursors[3],
    }
    forwards = await _page(gql, owner, "portfolioGrants", after=cursors[0], before=cursors[4], first=5)
    assert _ids(forwards) == ids[1:4]
    assert forwards["pageInfo"]["hasNextPage"] is False


async def test_an_empty_page_has_no_cursors(gql: GraphQL, world: World) -> None:
    page = await _page(gql, world.actor("vc_active"), "funds", last=3)
    assert page == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
    }


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"first": 1, "last": 1}, "last"), ({"last": 0}, "last"), ({"last": 10_000}, "last"), ({"before": "x"}, "before")],
)
async def test_bad_page_arguments_are_bad_user_input(
    gql: GraphQL, world: World, arguments: dict[str, Any], field: str
) -> None:
    result = await gql(world.actor("startup_owner"), _PAGE % "portfolioGrants", arguments)
    (error,) = result["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
    assert result["data"] == {"portfolioGrants": None}


async def test_total_count_counts_what_the_policies_show(gql: GraphQL, audited: World) -> None:
    query = "{ portfolioGrants(first: 1) { totalCount edges { cursor } } auditEvents(last: 2) { totalCount } }"
    startup = await gql(audited.actor("startup_owner"), query)
    assert startup["data"]["portfolioGrants"]["totalCount"] == 5
    assert len(startup["data"]["portfolioGrants"]["edges"]) == 1
    assert startup["data"]["auditEvents"]["totalCount"] >= 7
    vc = await gql(audited.actor("vc_active"), "{ portfolioGrants { totalCount } companies { totalCount } }")
    assert vc["data"] == {"portfolioGrants": {"totalCount": 1}, "companies": {"totalCount": 1}}
    other = await gql(audited.actor("other_startup_owner"), "{ portfolioGrants { totalCount } }")
    assert other["data"]["portfolioGrants"]["totalCount"] == 0


async def test_edge_cursors_are_encoded_only_when_selected(
    gql: GraphQL, audited: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = audited.actor("startup_owner")
    encoded: list[tuple[Any, ...]] = []
    encode = Cursor.encode

    def counting(self: Cursor, values: Any) -> str:
        encoded.append(tuple(values))
        return encode(self, values)

    monkeypatch.setattr(Cursor, "encode", counting)
    result = await gql(owner, "{ auditEvents(first: 5) { edges { node { id } } } }")
    assert "errors" not in result, result
    assert len(result["data"]["auditEvents"]["edges"]) == 5
    assert len(encoded) == 2  # pageInfo's start and end, not one per edge

    encoded.clear()
    page = await _page(gql, owner, "auditEvents", first=5)
    assert len(encoded) == 2 + 5
    assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
