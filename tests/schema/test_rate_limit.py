"""ROUNDPOOL_RATE_LIMIT_PER_MINUTE: one token bucket per acting tenant (per client address when anonymous),
shared through PostgreSQL; an empty bucket answers 429 RATE_LIMITED with Retry-After before any execution."""

from typing import Any

import httpx
import pytest

from tests.plugins.graphql import ClientFor, token_for
from tests.plugins.world import Actor, World

ME = {"query": "{ me { user { email } } }"}
INVITE = {"query": 'mutation { inviteMember(email: "limited@example.com", role: VIEWER) { __typename } }'}


def _bearer(actor: Actor) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(actor)}"}


def _from(client: httpx.AsyncClient, host: str) -> httpx.AsyncClient:
    """A client of the same app whose requests arrive from the peer address `host`."""
    app = client.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 1)), base_url="http://t")


def _invitations(owner_conn: Any, tenant: Any) -> int:
    return owner_conn.execute("select count(*) from invitations where tenant_id = %s", (tenant,)).fetchone()[0]


async def test_a_tenant_over_its_limit_is_refused_while_another_passes(
    client_for: ClientFor, world: World, owner_conn: Any
) -> None:
    owner, member = world.actor("startup_owner"), world.actor("startup_member")
    other = world.actor("other_startup_owner")
    async with client_for(rate_limit_per_minute=3) as client:
        passed = [await client.post("/graphql", json=ME, headers=_bearer(owner)) for _ in range(2)]
        passed.append(await client.post("/graphql", json=ME, headers=_bearer(member)))  # same tenant, same bucket
        refused = await client.post("/graphql", json=INVITE, headers=_bearer(owner))
        elsewhere = await client.post("/graphql", json=ME, headers=_bearer(other))
    assert [r.status_code for r in passed] == [200, 200, 200]
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == retry_after
    assert "data" not in refused.json()
    assert _invitations(owner_conn, world.tenants["startup"]) == 0  # the mutation never ran
    assert elsewhere.status_code == 200
    assert elsewhere.json()["data"]["me"]["user"]["email"] == other.email


async def test_the_limit_is_shared_by_every_server_process(client_for: ClientFor, world: World) -> None:
    owner = world.actor("startup_owner")
    async with client_for(rate_limit_per_minute=2) as first, client_for(rate_limit_per_minute=2) as second:
        statuses = [
            (await first.post("/graphql", json=ME, headers=_bearer(owner))).status_code,
            (await second.post("/graphql", json=ME, headers=_bearer(owner))).status_code,
            (await first.post("/graphql", json=ME, headers=_bearer(owner))).status_code,
            (await second.post("/graphql", json=ME, headers=_bearer(owner))).status_code,
        ]
    assert statuses == [200, 200, 429, 429]


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_anonymous_clients_are_limited_by_address(client_for: ClientFor, owner_conn: Any, accept: str) -> None:
    address = "203.0.113.7" if accept == "application/json" else "203.0.113.8"
    async with (
        client_for(rate_limit_per_minute=2) as client,
        _from(client, address) as one,
        _from(client, "198.51.100.9") as another,
    ):
        statuses = [(await one.post("/graphql", json=ME, headers={"accept": accept})).status_code for _ in range(3)]
        other = await another.post("/graphql", json=ME, headers={"accept": accept})
    owner_conn.execute("delete from app.rate_limit_buckets where key like 'ip:%'")
    assert statuses == [200, 200, 429]
    assert other.status_code == 200


async def test_a_client_cannot_escape_its_bucket_by_forging_x_forwarded_for(
    client_for: ClientFor, owner_conn: Any
) -> None:
    """Only a listed proxy (ROUNDPOOL_FORWARDED_ALLOW_IPS) names the client; anyone else's header is ignored."""
    async with (
        client_for(rate_limit_per_minute=2, forwarded_allow_ips="10.0.0.1") as client,
        _from(client, "198.51.100.20") as forger,
    ):
        statuses = [
            (await forger.post("/graphql", json=ME, headers={"x-forwarded-for": f"192.0.2.{n}"})).status_code
            for n in range(3)
        ]
    buckets = owner_conn.execute("select key from app.rate_limit_buckets where key like 'ip:%'").fetchall()
    owner_conn.execute("delete from app.rate_limit_buckets where key like 'ip:%'")
    assert statuses == [200, 200, 429]
    assert [key for (key,) in buckets] == ["ip:198.51.100.20"]  # no bucket for any forged address


async def test_behind_a_listed_proxy_each_forwarded_client_has_its_own_bucket(
    client_for: ClientFor, owner_conn: Any
) -> None:
    async with (
        client_for(rate_limit_per_minute=2, forwarded_allow_ips="10.0.0.1") as client,
        _from(client, "10.0.0.1") as proxy,
    ):

        async def status(forwarded: str) -> int:
            return (await proxy.post("/graphql", json=ME, headers={"x-forwarded-for": forwarded})).status_code

        first = [await status("192.0.2.50") for _ in range(3)]
        second = await status("192.0.2.51")
    owner_conn.execute("delete from app.rate_limit_buckets where key like 'ip:%'")
    assert first == [200, 200, 429]
    assert second == 200


async def test_no_limit_by_default(http_client: httpx.AsyncClient, world: World) -> None:
    statuses = {
        (await http_client.post("/graphql", json=ME, headers=_bearer(world.actor("startup_owner")))).status_code
        for _ in range(5)
    }
    assert statuses == {200}
    assert http_client.app.state.runtime.rate_limiter is None  # type: ignore[attr-defined]


async def test_the_app_role_cannot_touch_the_buckets(database: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    async with database.engine.connect() as conn:
        with pytest.raises(ProgrammingError, match="permission denied"):
            await conn.execute(text("delete from app.rate_limit_buckets"))
