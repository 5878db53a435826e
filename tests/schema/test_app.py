"""HTTP: authentication before any database work, tenant choice, transport rules, limits, masking."""

from typing import Any
from uuid import uuid4

import httpx
import pytest

from policies.tokens import mint_token
from schema.settings import Settings
from tests.plugins.graphql import JWT_SECRET, counting_checkouts, token_for
from tests.plugins.world import World

ME = {"query": "{ me { user { email } actingTenant { slug } } }"}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_valid_token_reaches_graphql(http_client: httpx.AsyncClient, world: World) -> None:
    actor = world.actor("startup_member")
    response = await http_client.post("/graphql", json=ME, headers=_bearer(token_for(actor)))
    assert response.status_code == 200
    assert response.json() == {
        "data": {"me": {"user": {"email": actor.email}, "actingTenant": {"slug": world.slugs["startup"]}}}
    }
    assert len(response.headers["x-request-id"]) >= 8


@pytest.mark.parametrize(
    "make_header",
    [
        lambda uid: "Bearer not-a-jwt",
        lambda uid: "Basic dXNlcjpwYXNz",
        lambda uid: "Bearer " + mint_token(JWT_SECRET, uid, ttl_seconds=-600),
        lambda uid: "Bearer " + mint_token("another-secret-" + "y" * 30, uid),
        lambda uid: "Bearer " + mint_token(JWT_SECRET, uid, audience="not-roundpool"),
        lambda uid: (
            "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
            "eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJhdWQiOiJyb3VuZHBvb2wiLCJleHAiOjk5OTk5OTk5OTl9."
        ),
    ],
    ids=["malformed", "not-bearer", "expired", "wrong-key", "wrong-audience", "alg-none"],
)
async def test_bad_tokens_get_401_before_any_database_work(
    http_client: httpx.AsyncClient, world: World, make_header: Any
) -> None:
    header = make_header(world.actor("startup_owner").user_id)
    with counting_checkouts(http_client) as taken:
        response = await http_client.post("/graphql", json=ME, headers={"authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert taken == []


async def test_a_token_for_an_unknown_user_gets_401(http_client: httpx.AsyncClient) -> None:
    response = await http_client.post("/graphql", json=ME, headers=_bearer(mint_token(JWT_SECRET, uuid4())))
    assert response.status_code == 401


async def test_a_tenant_the_user_is_not_a_member_of_gets_403(http_client: httpx.AsyncClient, world: World) -> None:
    actor = world.actor("startup_owner")
    headers = {**_bearer(token_for(actor)), "x-tenant": world.slugs["other_startup"]}
    response = await http_client.post("/graphql", json=ME, headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_x_tenant_chooses_among_the_users_memberships(
    http_client: httpx.AsyncClient, world: World, owner_conn: Any
) -> None:
    actor = world.actor("startup_owner")
    owner_conn.execute(
        "insert into memberships (tenant_id, user_id, role) values (%s, %s, 'viewer')",
        (world.tenants["other_startup"], actor.user_id),
    )
    token = mint_token(JWT_SECRET, actor.user_id)  # type: ignore[arg-type]
    headers = {**_bearer(token), "x-tenant": world.slugs["other_startup"]}
    response = await http_client.post("/graphql", json=ME, headers=headers)
    assert response.json()["data"]["me"]["actingTenant"] == {"slug": world.slugs["other_startup"]}
    without = await http_client.post("/graphql", json=ME, headers=_bearer(token))
    assert without.json()["data"]["me"]["actingTenant"] is None  # two memberships and none chosen


async def test_anonymous_requests_are_unauthenticated_without_database_work(http_client: httpx.AsyncClient) -> None:
    with counting_checkouts(http_client) as taken:
        response = await http_client.post("/graphql", json=ME)
    body = response.json()
    assert body["data"] == {"me": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert taken == []


async def test_get_queries_are_refused_and_graphiql_is_served(http_client: httpx.AsyncClient) -> None:
    refused = await http_client.get("/graphql", params={"query": "{ me { user { email } } }"})
    assert refused.status_code == 405
    ide = await http_client.get("/graphql")
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()


async def test_graphiql_and_introspection_are_off_in_production(test_database: Any) -> None:
    from schema.app import create_app

    settings = Settings(jwt_secret=JWT_SECRET, environment="production")
    app = create_app(settings, test_database.app_url)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/graphql")).status_code == 405
        response = await client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_only_json_bodies_are_accepted(http_client: httpx.AsyncClient) -> None:
    form = await http_client.post("/graphql", data={"query": "{ me { user { email } } }"})
    assert form.status_code == 415
    broken = await http_client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400


async def test_health_and_readiness(http_client: httpx.AsyncClient) -> None:
    assert (await http_client.get("/healthz")).json() == {"status": "ok"}
    assert (await http_client.get("/readyz")).json() == {"status": "ready"}


async def test_unexpected_errors_are_masked_with_the_request_id(
    http_client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resolvers.tenancy.tenants

    async def broken(ctx: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(resolvers.tenancy.tenants, "me", broken)
    response = await http_client.post(
        "/graphql",
        json=ME,
        headers={**_bearer(token_for(world.actor("startup_owner"))), "x-request-id": "req-12345678"},
    )
    error = response.json()["errors"][0]
    assert "hunter2" not in response.text
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-12345678"}
    assert "req-12345678" in error["message"]


async def test_variables_of_the_wrong_type_are_bad_input_not_a_server_error(
    http_client: httpx.AsyncClient, world: World
) -> None:
    query = "query($slug: String!) { tenant(slug: $slug) { slug } }"
    response = await http_client.post(
        "/graphql",
        json={"query": query, "variables": {"slug": 1.5}},
        headers=_bearer(token_for(world.actor("startup_owner"))),
    )
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "String cannot represent" in error["message"]
