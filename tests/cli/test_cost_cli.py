"""`roundpool cost import --wait --json`: queued through the resolver, run in-process (no worker is up)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.cost.conftest import write_legacy_csv
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET
from tests.plugins.world import World


@pytest.fixture
def cli(test_database: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", test_database.app_url)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", test_database.owner_url)
    monkeypatch.setenv("ROUNDPOOL_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("ROUNDPOOL_COST_STORE", str(tmp_path / "store"))
    return CliRunner()


def test_cost_import_waits_and_prints_a_json_summary(
    cli: CliRunner, world: World, owner_conn: psycopg.Connection, tmp_path: Path
) -> None:
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    admin = world.actor("billing_admin")
    account = uuid.uuid4().hex[:12]
    path = write_legacy_csv(tmp_path / "cur.csv", [{"lineItem/UsageAccountId": account}] * 4)
    args = ["cost", "import", str(path), "--user", admin.email or "", "--tenant", admin.tenant_slug or ""]

    result = cli.invoke(app, [*args, "--wait", "--json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded"
    assert summary["rows"] == 4
    assert summary["error"] is None
    assert summary["periods"] == ["2023-11"]
    assert summary["accounts"] == [account]
    assert summary["bytes"] == path.stat().st_size
    operator_store = tmp_path / "store" / "operators" / str(world.tenants["operator"])
    assert (operator_store / "_catalog" / "HEAD").is_file()

    refused = cli.invoke(
        app,
        [
            "cost",
            "import",
            str(path),
            "--user",
            world.actor("startup_owner").email or "",
            "--tenant",
            world.slugs["startup"],
        ],
    )
    assert refused.exit_code == 1
    assert "operator tenants" in refused.output
