"""Run GraphQL documents as an actor through the real path: principal resolution, one transaction under
the actor's context, the real schema and policies. `http_client` adds Starlette, JWT and headers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
import strawberry
from sqlalchemy import event

from db.session import Database
from policies.tokens import mint_token
from resolvers.common.principals import Member
from resolvers.global_ids import NodeType, encode_global_id, parse_global_id
from schema.app import create_app, schema_for
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings
from tests.plugins.database import TestDatabase
from tests.plugins.world import Actor

JWT_SECRET = "test-secret-" + "x" * 32

GraphQL = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(scope="session")
def settings(test_database: TestDatabase) -> Settings:
    return Settings(
        database_url=test_database.app_url,
        migration_database_url=test_database.owner_url,
        jwt_secret=JWT_SECRET,
        environment="development",
    )


@pytest.fixture(scope="session")
def schema(settings: Settings) -> strawberry.Schema:
    return schema_for(settings)


@pytest.fixture
def gql(database: Database, schema: strawberry.Schema, settings: Settings) -> GraphQL:
    async def run(
        actor: Actor, query: str, variables: dict[str, Any] | None = None, *, operation_name: str | None = None
    ) -> dict[str, Any]:
        return await execute(
            schema,
            database,
            None if actor.user_id is None else Member(actor.user_id, actor.tenant_slug),
            GraphQLRequest(query=query, variables=variables, operation_name=operation_name),
            request_id=uuid.uuid4().hex,
            max_page_size=settings.max_page_size,
        )

    return run


def gid(type_name: NodeType, key: UUID | str) -> str:
    """The global id the API gives the `type_name` object whose row has id `key` (to compare with DB rows)."""
    return encode_global_id(type_name, UUID(str(key)))


def row_id(global_id: str) -> UUID:
    """The row id behind a global id the API returned (to look the row up with `owner_conn`)."""
    return parse_global_id(global_id, "id")[1]


def token_for(actor: Actor, **overrides: Any) -> str:
    assert actor.user_id is not None
    return mint_token(JWT_SECRET, actor.user_id, tenant=actor.tenant_slug, **overrides)


@pytest.fixture
async def http_client(settings: Settings, test_database: TestDatabase) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, test_database.app_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


ClientFor = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_for(settings: Settings, test_database: TestDatabase) -> ClientFor:
    """`async with client_for(max_body_bytes=…) as client`: HTTP to an app whose settings differ by those fields."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        changed = settings.model_copy(update=overrides)
        app = create_app(changed, test_database.app_url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return make


@contextmanager
def counting_checkouts(client: httpx.AsyncClient) -> Iterator[list[int]]:
    """Counts connections taken from the pool while the block runs."""
    engine = client.app.state.runtime.database.engine.sync_engine  # type: ignore[attr-defined]
    taken: list[int] = []

    def on_checkout(*_: Any) -> None:
        taken.append(1)

    event.listen(engine, "checkout", on_checkout)
    try:
        yield taken
    finally:
        event.remove(engine, "checkout", on_checkout)
