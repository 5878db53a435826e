"""`roundpool cost import --wait --json`: queued through the resolver, run in-process (no worker is up)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from cli.main import app
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.world import World


def test_cost_import_waits_and_prints_a_json_summary(
    cost_cli: CliRunner, world: World, owner_conn: psycopg.Connection, tmp_path: Path
) -> None:
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    admin = world.actor("billing_admin")
    account = uuid.uuid4().hex[:12]
    path = write_legacy_csv(tmp_path / "cur.csv", [{"lineItem/UsageAccountId": account}] * 4)
    args = ["cost", "import", str(path), "--user", admin.email or "", "--tenant", admin.tenant_slug or ""]

    result = cost_cli.invoke(app, [*args, "--wait", "--json"], catch_exceptions=False)

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

    refused = cost_cli.invoke(
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
