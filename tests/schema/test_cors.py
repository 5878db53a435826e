"""CORS from ROUNDPOOL_CORS_ORIGINS: preflights of configured origins pass with POST's headers, others get no
CORS headers, credentials are never allowed, and the JSON-only CSRF defence still holds."""

import httpx
import pytest
from pydantic import ValidationError

from schema.settings import Settings
from tests.plugins.graphql import ClientFor, token_for
from tests.plugins.world import World

APP = "https://app.example.com"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, x-tenant",
}
ME = {"query": "{ me { user { email } } }"}


async def test_a_configured_origin_passes_the_preflight(client_for: ClientFor) -> None:
    async with client_for(cors_origins=[APP]) as client:
        response = await client.options("/graphql", headers={"origin": APP, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-tenant", "x-request-id"} <= {h.strip() for h in allowed.split(",")}
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["vary"].startswith("Origin")


@pytest.mark.parametrize("origin", ["https://evil.example.com", "https://app.example.com.evil.net", "null"])
async def test_other_origins_are_refused(client_for: ClientFor, world: World, origin: str) -> None:
    async with client_for(cors_origins=[APP]) as client:
        preflight = await client.options("/graphql", headers={"origin": origin, **PREFLIGHT})
        bearer = f"Bearer {token_for(world.actor('startup_owner'))}"
        post = await client.post("/graphql", json=ME, headers={"origin": origin, "authorization": bearer})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in post.headers  # the browser will not show the answer to that page


async def test_a_configured_origin_reads_answers_and_their_request_id(client_for: ClientFor, world: World) -> None:
    headers = {"origin": APP, "authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}
    async with client_for(cors_origins=[APP]) as client:
        response = await client.post("/graphql", json=ME, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_without_origins_there_is_no_cors_at_all(http_client: httpx.AsyncClient) -> None:
    preflight = await http_client.options("/graphql", headers={"origin": APP, **PREFLIGHT})
    post = await http_client.post("/graphql", json=ME, headers={"origin": APP})
    assert preflight.status_code == 405
    assert not any(name.startswith("access-control-") for name in [*preflight.headers, *post.headers])


async def test_the_csrf_defence_still_refuses_simple_requests_of_allowed_origins(client_for: ClientFor) -> None:
    async with client_for(cors_origins=[APP]) as client:
        form = await client.post("/graphql", data={"query": "{ me { user { email } } }"}, headers={"origin": APP})
        text = await client.post(
            "/graphql",
            content=b'{"query": "{ me { user { email } } }"}',
            headers={"origin": APP, "content-type": "text/plain"},
        )
    assert form.status_code == 415
    assert text.status_code == 415


@pytest.mark.parametrize(
    "origin", ["*", "https://app.example.com/", "https://*.example.com", "app.example.com", "https://a.com/path"]
)
def test_origins_must_be_exact(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins=[origin])


def test_origins_are_read_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDPOOL_CORS_ORIGINS", '["https://App.example.com", "http://localhost:5173"]')
    assert Settings().cors_origins == ["https://app.example.com", "http://localhost:5173"]
