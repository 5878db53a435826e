"""`roundpool db citus-plan`: the distribution calls for the migrated database, or why it cannot be distributed."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from db.distribution import citus_plan
from db.distribution_catalog import read_catalog
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET


@pytest.fixture
def cli(test_database: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", test_database.app_url)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", test_database.owner_url)
    monkeypatch.setenv("ROUNDPOOL_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("ROUNDPOOL_COST_STORE", str(tmp_path / "store"))
    return CliRunner()


def test_citus_plan_prints_the_calls_in_order(cli: CliRunner, owner_conn: psycopg.Connection) -> None:
    result = cli.invoke(app, ["db", "citus-plan"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == citus_plan(read_catalog(owner_conn))
    assert lines[0] == "select create_reference_table('public.tenants');"
    assert "select create_distributed_table('public.invoices', 'tenant_id'," in result.stdout
    assert "procrastinate" not in result.stdout


def test_citus_plan_refuses_a_table_that_breaks_the_rules(cli: CliRunner, owner_conn: psycopg.Connection) -> None:
    owner_conn.execute("create table citus_cli_probe (id uuid primary key)")
    try:
        result = cli.invoke(app, ["db", "citus-plan"])
    finally:
        owner_conn.execute("drop table citus_cli_probe")
    assert result.exit_code == 1
    assert "public.citus_cli_probe: a distributed table needs tenant_id uuid not null" in result.output
    assert "public.citus_cli_probe.citus_cli_probe_pkey: a unique key" in result.output
    assert "create_distributed_table" not in result.stdout
