"""`roundpool graphql` runs what POST /graphql runs: costs, previewInvoice and closeInvoice with the configured
cost store; a result union answering a Problem exits 2 (0 with --allow-errors) and changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from cost import CostStore
from tests.plugins.billing import ADD_ITEM, ASSIGN_PLAN, CREATE_PLAN, FEE, MARKUP, PERIOD, SET_BILLING, TAX, SeedCosts
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET
from tests.plugins.world import World

COSTS = "query($p: String!) { costs(period: $p, groupBy: [ACCOUNT], metrics: [BILLED]) { account currency billed } }"
PREVIEW = "query($t: String!, $p: String!) { previewInvoice(tenantSlug: $t, period: $p) { total currency } }"
CLOSE = """mutation($t: String!, $p: String!) {
  closeInvoice(tenantSlug: $t, period: $p) { __typename ... on Invoice { number total } ... on Problem { message } }
}"""


@pytest.fixture
def cli(test_database: TestDatabase, cost_store: CostStore, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", test_database.app_url)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", test_database.owner_url)
    monkeypatch.setenv("ROUNDPOOL_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("ROUNDPOOL_COST_STORE", str(cost_store.root))  # the store the fixtures import into
    return CliRunner()


def _invoke(
    cli: CliRunner, world: World, actor: str, document: str, variables: dict[str, Any], *extra: str
) -> tuple[int, dict[str, Any], str]:
    who = world.actor(actor)
    result = cli.invoke(
        app,
        [
            "graphql",
            document,
            "--variables",
            json.dumps(variables),
            "--user",
            who.email or "",
            "--tenant",
            who.tenant_slug or "",
            *extra,
        ],
    )
    return result.exit_code, json.loads(result.stdout), result.stderr


def _ok(cli: CliRunner, world: World, actor: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    code, body, stderr = _invoke(cli, world, actor, document, variables)
    assert code == 0, (body, stderr)
    assert "errors" not in body
    return body["data"]


def _set_up_billing(cli: CliRunner, world: World, tenant: str) -> None:
    rules = [{"scope": "GLOBAL", "adjustment": "MARKUP", "percent": str(MARKUP)}]
    plan = _ok(
        cli, world, "billing_admin", CREATE_PLAN, {"name": f"CLI {world.suffix}", "from": "2026-01", "rules": rules}
    )["createPricingPlan"]
    slug = world.slugs[tenant]
    settings = {"taxRatePercent": str(TAX), "taxName": "Consumption tax", "legalName": "K.K.", "address": "Chiyoda"}
    for document, variables in (
        (ASSIGN_PLAN, {"tenant": slug, "plan": plan["id"]}),
        (SET_BILLING, {"tenant": slug, "settings": settings}),
        (ADD_ITEM, {"tenant": slug, "value": str(FEE), "period": PERIOD}),
    ):
        _ok(cli, world, "billing_admin", document, variables)


def _invoices(owner_conn: psycopg.Connection, world: World) -> int:
    row = owner_conn.execute(
        "select count(*) from invoices where tenant_id = any(%s)",
        ([world.tenants["startup"], world.tenants["other_startup"]],),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_costs_preview_and_close_run_through_the_cli(
    cli: CliRunner, world: World, seed_costs: SeedCosts, owner_conn: psycopg.Connection
) -> None:
    seeded = seed_costs(("startup",))
    costs = _ok(cli, world, "startup_viewer", COSTS, {"p": PERIOD})["costs"]
    assert {row["account"] for row in costs} == set(seeded.accounts["startup"])

    _set_up_billing(cli, world, "startup")
    variables = {"t": world.slugs["startup"], "p": PERIOD}
    preview = _ok(cli, world, "billing_admin", PREVIEW, variables)["previewInvoice"]
    assert Decimal(preview["total"]) == seeded.expected_total("startup")

    closed = _ok(cli, world, "billing_admin", CLOSE, variables)["closeInvoice"]
    assert closed["__typename"] == "Invoice"
    assert Decimal(closed["total"]) == seeded.expected_total("startup")
    assert _invoices(owner_conn, world) == 1


def test_a_problem_result_exits_2_and_changes_nothing(
    cli: CliRunner, world: World, seed_costs: SeedCosts, owner_conn: psycopg.Connection
) -> None:
    seed_costs(("other_startup",))  # costs, but no pricing plan: closing is InvalidInput
    variables = {"t": world.slugs["other_startup"], "p": PERIOD}

    code, body, stderr = _invoke(cli, world, "billing_admin", CLOSE, variables)

    assert code == 2
    assert body["data"]["closeInvoice"]["__typename"] == "InvalidInput"
    assert "errors" not in body
    assert "problem: closeInvoice: InvalidInput" in stderr
    assert _invoices(owner_conn, world) == 0

    code, body, _ = _invoke(cli, world, "billing_admin", CLOSE, {**variables, "t": "no-such-tenant"}, "--allow-errors")
    assert code == 0
    assert body["data"]["closeInvoice"]["__typename"] == "NotFound"
    assert _invoices(owner_conn, world) == 0


def test_errors_still_exit_2_with_allow_errors(cli: CliRunner, world: World) -> None:
    code, body, _ = _invoke(cli, world, "startup_viewer", "{ auditEvents { edges { cursor } } }", {}, "--allow-errors")
    assert code == 2
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_cli_keeps_the_http_limits(cli: CliRunner, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDPOOL_MAX_BODY_BYTES", "50")
    who = world.actor("startup_viewer")
    result = cli.invoke(
        app, ["graphql", "{ me { id } }", "--variables", json.dumps({"x": "y" * 60}), "--user", who.email or ""]
    )
    assert result.exit_code == 1
    assert "exceed 50 bytes (ROUNDPOOL_MAX_BODY_BYTES)" in result.stderr
