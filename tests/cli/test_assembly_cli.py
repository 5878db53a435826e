"""`roundpool cost import <…-Manifest.json>` and `roundpool cost sync --wait`: assemblies queued through the
resolvers and run in-process (no worker is up), summarised per assembly."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.plugins.costs import REGISTER_SOURCE, mirror
from tests.plugins.world import World


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "bucket"
    root.mkdir()
    monkeypatch.setenv("ROUNDPOOL_COST_SOURCES", json.dumps([{"name": "bucket", "url": str(root)}]))
    return root


def test_cost_import_of_a_manifest_imports_its_assembly(
    cost_cli: CliRunner,
    bucket: Path,
    world: World,
    owner_conn: psycopg.Connection,
) -> None:
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    admin = world.actor("billing_admin")
    manifest = mirror(bucket, "alpha", "a1", rows=15)
    args = ["cost", "import", str(manifest), "--user", admin.email or "", "--tenant", admin.tenant_slug or ""]

    result = cost_cli.invoke(app, [*args, "--wait", "--json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert (summary["status"], summary["report"], summary["period"], summary["assembly_id"]) == (
        "succeeded",
        "alpha",
        "2023-11",
        "a1",
    )
    assert (summary["parts"], summary["parts_done"], summary["rows"]) == (2, 2, 30)
    again = cost_cli.invoke(app, [*args, "--json"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)[0]["status"] == "duplicate"

    outside = cost_cli.invoke(app, ["cost", "import", "/etc/x-Manifest.json", *args[3:]])
    assert outside.exit_code == 1
    assert "configured cost sources" in outside.output


def test_cost_sync_waits_for_every_new_delivery_then_queues_none(
    cost_cli: CliRunner,
    bucket: Path,
    world: World,
    owner_conn: psycopg.Connection,
) -> None:
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    admin = world.actor("billing_admin")
    mirror(bucket, "alpha", "a1")
    mirror(bucket, "beta", "b1")
    who = ["--user", admin.email or "", "--tenant", admin.tenant_slug or ""]
    variables = json.dumps({"location": f"{bucket}/cur", "format": "LEGACY_CUR"})
    registered = cost_cli.invoke(
        app, ["graphql", REGISTER_SOURCE, *who, "--variables", variables], catch_exceptions=False
    )
    assert registered.exit_code == 0, registered.output
    args = ["cost", "sync", *who]

    result = cost_cli.invoke(app, [*args, "--wait", "--json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert sorted((s["report"], s["status"], s["parts_done"], s["rows"]) for s in done) == [
        ("alpha", "succeeded", 2, 40),
        ("beta", "succeeded", 2, 40),
    ]
    assert "2 queued, 0 known" in result.stderr
    again = cost_cli.invoke(app, [*args, "--wait", "--json"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == []
    assert "0 queued, 2 known" in again.stderr
    count = owner_conn.execute(
        "select count(*) from cost_assemblies where tenant_id = %s", (admin.tenant_id,)
    ).fetchone()
    assert count == (2,)
