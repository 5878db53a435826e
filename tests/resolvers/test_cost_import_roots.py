"""Local imports are confined to the configured folders, so a billing admin cannot make the server read
(and echo in an error) an arbitrary file."""

import uuid
from pathlib import Path

import psycopg
import strawberry

from cost import CostStore
from db.session import Database
from schema.authentication import resolve_principal
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings
from tests.plugins.world import World

IMPORT = """
mutation($path: String!) {
  importCostReport(path: $path) { __typename ... on InvalidInput { message field } ... on CostImport { status } }
}"""


async def _import(
    database: Database, schema: strawberry.Schema, world: World, store: CostStore, roots: tuple[Path, ...], path: Path
) -> dict[str, object]:
    admin = world.actor("billing_admin")
    assert admin.user_id is not None
    principal = await resolve_principal(database, admin.user_id, admin.tenant_slug)
    body = await execute(
        schema,
        database,
        principal,
        GraphQLRequest(IMPORT, {"path": str(path)}),
        request_id=uuid.uuid4().hex,
        max_page_size=100,
        cost_store=store,
        cost_import_roots=roots,
    )
    return body["data"]["importCostReport"]  # type: ignore[index,return-value]


async def test_paths_outside_the_import_roots_are_refused_and_nothing_is_queued(
    database: Database, schema: strawberry.Schema, world: World, tmp_path: Path, owner_conn: psycopg.Connection
) -> None:
    allowed = tmp_path / "imports"
    allowed.mkdir()
    inside = allowed / "cur.csv"
    inside.write_text("identity/LineItemId\n")
    outside = tmp_path / "secret.csv"
    outside.write_text("password\n")
    link = allowed / "sneaky.csv"
    link.symlink_to(outside)
    store = CostStore(str(tmp_path / "store"))
    before = owner_conn.execute("select count(*) from cost_imports").fetchone()

    for path in (outside, link, Path("/etc/passwd")):
        result = await _import(database, schema, world, store, (allowed,), path)
        assert result["__typename"] == "InvalidInput", path
        assert result["field"] == "path"
        assert "ROUNDPOOL_COST_IMPORT_ROOTS" in str(result["message"])
    assert owner_conn.execute("select count(*) from cost_imports").fetchone() == before

    accepted = await _import(database, schema, world, store, (allowed,), inside)
    assert accepted == {"__typename": "CostImport", "status": "QUEUED"}


def test_production_allows_no_local_path_unless_roots_are_configured(tmp_path: Path) -> None:
    assert Settings(environment="production").import_roots == ()
    assert Settings(environment="development").import_roots is None
    assert Settings(environment="production", cost_import_roots=[tmp_path]).import_roots == (tmp_path,)
