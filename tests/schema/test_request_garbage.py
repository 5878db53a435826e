"""A request's objects are freed by reference counting when it ends, through HTTP as the real app role.

A cycle through a request's context (its loaders held the context; graphql-core's resolver helpers hold the
executor, which holds the context) left each request's objects to the cycle collector: about 50 µs of a page
request's CPU in collections, and pauses in its latency tail. These tests collect with the collector saving
what it finds unreachable, so any such cycle shows up by the objects it held."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.plugins.graphql import token_for
from tests.plugins.world import World

ME = "query { me { user { email } actingTenant { slug } } }"
PAGE = "query { auditEvents(first: 20) { edges { node { id action } } pageInfo { hasNextPage endCursor } } }"
# `profile` loads through a DataLoader (a batch, its futures), which `me` and the page do not.
PROFILE = "query { me { actingTenant { slug profile { legalName } } } }"
REQUEST_TYPES = {"RequestContext", "RequestTransaction", "_ContextConnection", "Loaders", "RoundpoolExecutor"}


@contextmanager
def _cyclic_garbage() -> Iterator[list[object]]:
    """What the cycle collector finds unreachable among the objects made in the block (and keeps, to read)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[object] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.mark.parametrize("query", [ME, PAGE, PROFILE], ids=["me", "page", "profile"])
async def test_a_request_leaves_nothing_to_the_cycle_collector(
    http_client: httpx.AsyncClient, world: World, query: str
) -> None:
    token = token_for(world.actor("startup_owner"))
    headers = {"authorization": f"Bearer {token}"}
    warm = await http_client.post("/graphql", json={"query": query}, headers=headers)
    assert warm.status_code == 200, warm.text  # the caches and readers are made
    assert "errors" not in warm.json(), warm.text
    with _cyclic_garbage() as garbage:
        for _ in range(3):
            response = await http_client.post("/graphql", json={"query": query}, headers=headers)
            assert response.status_code == 200, response.text
            assert "errors" not in response.json(), response.text
    left = sorted({type(o).__qualname__ for o in garbage} & REQUEST_TYPES)
    assert left == []
