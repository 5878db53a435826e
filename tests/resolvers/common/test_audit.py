"""A read through a grant is audited before its data leaves, whatever happens to the rest of the document.

The attack: one field reads granted data, a sibling fails in a way that rolls the request's transaction
back. The audit row must survive that rollback, or the data must not be returned.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
import strawberry

from db.session import Database
from resolvers.common.principals import Member
from schema.execution import GraphQLRequest, execute
from tests.plugins.database import TestDatabase
from tests.plugins.world import World

# `companies` reads the startup's profile through the COMPANY grant; `latestKpis` (nullable, so the rest
# of the data stays) waits on a table lock until the statement timeout cancels it: an unexpected failure
# that rolls the request's transaction back.
DOCUMENT = """
query($company: String!) {
  companies(first: 10) { edges { node { legalName } } }
  latestKpis(companySlug: $company) { id }
}
"""


@pytest.fixture
async def impatient_database(test_database: TestDatabase) -> AsyncIterator[Database]:
    database = Database(test_database.app_url, pool_size=2, statement_timeout_ms=400)
    yield database
    await database.dispose()


def _grant_reads(owner_conn: psycopg.Connection, world: World) -> list[tuple[str, str]]:
    return owner_conn.execute(
        "select subject_type, subject_id from audit_events where tenant_id = %s and action = 'grant.read'"
        " and actor_tenant_id = %s order by id",
        (world.tenants["startup"], world.tenants["vc_active"]),
    ).fetchall()


async def test_a_granted_read_stays_audited_when_a_sibling_field_rolls_the_request_back(
    impatient_database: Database,
    schema: strawberry.Schema,
    world: World,
    owner_conn: psycopg.Connection,
    test_database: TestDatabase,
) -> None:
    vc = world.actor("vc_active")
    assert vc.user_id is not None
    member = Member(vc.user_id, vc.tenant_slug)
    before = _grant_reads(owner_conn, world)

    with psycopg.connect(test_database.owner_url) as locker:
        locker.execute("lock table kpi_reports in access exclusive mode")
        result = await execute(
            schema,
            impatient_database,
            member,
            GraphQLRequest(DOCUMENT, {"company": world.slugs["startup"]}),
            request_id=uuid.uuid4().hex,
            max_page_size=100,
        )
        locker.rollback()

    # the sibling did fail (so the request's transaction rolled back) ...
    assert result["errors"], result
    assert [e["path"] for e in result["errors"]] == [["latestKpis"]], result
    assert result["data"]["latestKpis"] is None
    # ... the granted profile was returned, and its read is in the startup's trail nonetheless
    names = [e["node"]["legalName"] for e in result["data"]["companies"]["edges"]]
    assert names == [f"startup {world.suffix} K.K."]
    assert _grant_reads(owner_conn, world) == [*before, ("company", "company_profiles")]


async def test_a_granted_read_whose_audit_cannot_be_committed_is_not_returned(
    impatient_database: Database,
    schema: strawberry.Schema,
    world: World,
    owner_conn: psycopg.Connection,
    test_database: TestDatabase,
) -> None:
    vc = world.actor("vc_active")
    assert vc.user_id is not None
    member = Member(vc.user_id, vc.tenant_slug)
    before = _grant_reads(owner_conn, world)

    # The trail accepts no insert until the statement timeout gives up on the audit write.
    with psycopg.connect(test_database.owner_url) as locker:
        locker.execute("lock table audit_events in access exclusive mode")
        result = await execute(
            schema,
            impatient_database,
            member,
            GraphQLRequest("query { companies(first: 10) { edges { node { legalName } } } }"),
            request_id=uuid.uuid4().hex,
            max_page_size=100,
        )
        locker.rollback()

    assert [e["path"] for e in result["errors"]] == [["companies"]], result
    assert result["data"] == {"companies": None}
    assert f"startup {world.suffix}" not in str(result)
    assert _grant_reads(owner_conn, world) == before
