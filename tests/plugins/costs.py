"""Cost fixtures: a fresh Parquet store per test, GraphQL with that store, the import job run inline.

Imports are background jobs; tests run a queued job synchronously through :func:`run_import`, the very
function the procrastinate task calls (one test in tests/resolvers/costs/test_cost_jobs.py runs a real worker).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
import strawberry

from cost import CostStore
from db.cost_records import CostImportRecord
from db.session import Database
from resolvers.common.principals import Member
from resolvers.costs.imports import run_import
from schema.authentication import resolve_principal
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings
from tests.plugins.graphql import GraphQL
from tests.plugins.world import Actor

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LEGACY_SAMPLE = SHARED_DATA / "cur" / "legacy-cur-anonymized-sample.csv"
FOCUS_SAMPLE = SHARED_DATA / "focus" / "focus-1.0-sample.csv"

RunJob = Callable[[Actor, str], Awaitable[CostImportRecord]]


def shared_file(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test data absent: {path}")
    return path


@pytest.fixture
def cost_store(tmp_path: Path) -> CostStore:
    return CostStore(str(tmp_path / "cost-store"))


@pytest.fixture
def cost_gql(database: Database, schema: strawberry.Schema, settings: Settings, cost_store: CostStore) -> GraphQL:
    async def run(actor: Actor, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = None
        if actor.user_id is not None:
            principal = await resolve_principal(database, actor.user_id, actor.tenant_slug)
        return await execute(
            schema,
            database,
            principal,
            GraphQLRequest(query=query, variables=variables),
            request_id=uuid.uuid4().hex,
            max_page_size=settings.max_page_size,
            cost_store=cost_store,
            cost_sources=settings.cost_import_sources,
        )

    return run


@pytest.fixture
def run_job(database: Database, cost_store: CostStore, settings: Settings) -> RunJob:
    """Run the queued import `import_id` as its requester `actor`, inline (what the task does)."""

    async def run(actor: Actor, import_id: str) -> CostImportRecord:
        assert actor.user_id is not None
        assert actor.tenant_id is not None
        context = Member(actor.user_id, actor.tenant_id)
        return await run_import(
            database, cost_store, UUID(import_id), context, interval=0.05, sources=settings.cost_import_sources
        )

    return run


@pytest.fixture
def release_accounts(owner_conn: psycopg.Connection) -> Callable[[Iterable[str]], None]:
    """Free account ids that an earlier test's world holds (ids are unique across tenants)."""

    def release(account_ids: Iterable[str]) -> None:
        ids = list(account_ids)
        with owner_conn.transaction():
            owner_conn.execute("delete from cloud_accounts where account_id = any(%s)", (ids,))
            owner_conn.execute("delete from cloud_account_assignments where account_id = any(%s)", (ids,))

    return release
