"""With introspection off, errors do not describe the schema: no "Did you mean …?" for any caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from schema.app import create_app
from schema.settings import Settings
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET, token_for
from tests.plugins.world import World

# Each probes one of graphql-core's suggestion sites: field, argument, type, enum literal, enum variable,
# input object field.
PROBES: list[tuple[str, dict[str, Any] | None, str]] = [
    ('{ invoic(id: "x") { id } }', None, "Cannot query field 'invoic'"),
    ("{ companies(frist: 1) { edges { node { legalName } } } }", None, "Unknown argument 'frist'"),
    ("query($s: GrantStatu) { portfolioGrants(status: $s) { edges { node { id } } } }", None, "Unknown type"),
    ("{ portfolioGrants(status: ACTIV) { edges { node { id } } } }", None, "ACTIV"),
    (
        "query($s: GrantStatus) { portfolioGrants(status: $s) { edges { node { id } } } }",
        {"s": "ACTIV"},
        "ACTIV",
    ),
    (
        "mutation($i: CompanyProfileInput!) { updateCompanyProfile(input: $i) { __typename } }",
        {"i": {"legalNam": "x"}},
        "legalNam",
    ),
]


@pytest.fixture
async def production_client(test_database: TestDatabase) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(jwt_secret=JWT_SECRET, environment="production"), test_database.app_url)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def _messages(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    found = []
    for query, variables, expected in PROBES:
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        body = response.json()
        assert body.get("data") is None, (query, body)
        (error,) = body["errors"]
        assert expected in error["message"], (query, error)
        found.append(error["message"])
    return found


async def test_no_suggestions_for_anonymous_or_authenticated_callers_in_production(
    production_client: httpx.AsyncClient, world: World
) -> None:
    vc = world.actor("vc_active")
    for headers in ({}, {"authorization": f"Bearer {token_for(vc)}"}):
        messages = await _messages(production_client, headers)
        assert not [m for m in messages if "Did you mean" in m], messages
        assert not [m for m in messages if "invoice'" in m or "first" in m or "ACTIVE" in m or "legalName" in m]


async def test_development_keeps_the_suggestions(http_client: httpx.AsyncClient, world: World) -> None:
    messages = await _messages(http_client, {"authorization": f"Bearer {token_for(world.actor('vc_active'))}"})
    assert "Did you mean 'invoice' or 'invoices'?" in messages[0]
    assert sum("Did you mean" in m for m in messages) == len(PROBES)
