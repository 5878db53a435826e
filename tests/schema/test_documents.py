"""Documents are parsed and validated once per distinct text; every limit holds for the cached verdict too."""

from __future__ import annotations

import httpx
from graphql import parse

from schema.build import RoundpoolSchema
from schema.documents import MAX_CACHED_CHARS, DocumentCache, Prepared
from tests.plugins.graphql import ClientFor, counting_checkouts, token_for
from tests.plugins.world import World

DEEP = '{ tenant(slug: "x") { ' + "profile { company { " * 10 + "slug" + " } }" * 10 + " } }"
ALIASES = "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(40)) + " }"
TOKENS = "{ me { user { " + " ".join(["email"] * 2500) + " } } }"
ME = "{ me { role } }"


def _schema(client: httpx.AsyncClient) -> RoundpoolSchema:
    schema = client.app.state.runtime.schema  # type: ignore[attr-defined]
    assert isinstance(schema, RoundpoolSchema)
    return schema


async def test_a_cached_verdict_refuses_a_too_deep_document_every_time(http_client: httpx.AsyncClient) -> None:
    for _ in range(3):
        with counting_checkouts(http_client) as taken:
            response = await http_client.post("/graphql", json={"query": DEEP})
        assert "exceeds maximum operation depth" in response.text
        assert response.json()["data"] is None
        assert taken == []
    cached = _schema(http_client).documents.get(DEEP)
    assert cached is not None
    assert cached.errors


async def test_a_cached_verdict_refuses_too_many_aliases_every_time(http_client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await http_client.post("/graphql", json={"query": ALIASES})
        assert "aliases" in response.text.lower()
        assert response.json()["data"] is None


async def test_too_many_tokens_are_refused_every_time_and_never_cached(http_client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await http_client.post("/graphql", json={"query": TOKENS})
        assert "more than 2000 tokens" in response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert _schema(http_client).documents.get(TOKENS) is None


async def test_a_valid_document_is_prepared_once(http_client: httpx.AsyncClient, world: World) -> None:
    headers = {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
    first = await http_client.post("/graphql", json={"query": ME}, headers=headers)
    prepared = _schema(http_client).documents.get(ME)
    second = await http_client.post("/graphql", json={"query": ME}, headers=headers)
    assert first.json() == second.json() == {"data": {"me": {"role": "OWNER"}}}
    assert prepared is not None
    assert prepared.errors == ()
    assert _schema(http_client).documents.get(ME) is prepared


async def test_introspection_stays_refused_from_the_cache(client_for: ClientFor) -> None:
    async with client_for(introspection=False) as client:
        for _ in range(2):
            response = await client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
            assert response.json()["data"] is None
            assert "introspection" in response.text.lower()


async def test_suggestions_stay_hidden_from_the_cache(client_for: ClientFor) -> None:
    async with client_for(introspection=False) as client:
        for _ in range(2):
            response = await client.post("/graphql", json={"query": "{ mee { role } }"})
            assert "Cannot query field 'mee'" in response.text
            assert "Did you mean" not in response.text


def test_the_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = DocumentCache(maxsize=3)
    entry = Prepared(parse("{ a }"), ())
    for name in ("a", "b", "c"):
        cache.put(name, entry)
    assert cache.get("a") is entry  # now the most recently used
    cache.put("d", entry)
    assert len(cache) == 3
    assert cache.get("b") is None
    assert all(cache.get(name) is entry for name in ("a", "c", "d"))


def test_an_oversized_text_is_never_cached() -> None:
    cache = DocumentCache(maxsize=3)
    cache.put("x" * (MAX_CACHED_CHARS + 1), Prepared(parse("{ a }"), ()))
    assert len(cache) == 0
