"""`roundpool demo`: tenants and users seeded once, Kitsune's cap table written through the API, tokens that
verify; running it again changes nothing."""

import json
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from policies.tokens import TokenVerifier
from tests.plugins.graphql import JWT_SECRET

COUNTS = "select (select count(*) from tenants), (select count(*) from users), (select count(*) from captable_objects)"
BILLING_COUNTS = (
    ", (select count(*) from invoices), (select count(*) from invoice_lines), (select count(*) from cost_imports),"
    " (select count(*) from custom_line_items), (select count(*) from pricing_plans), (select count(*) from tax_rates)"
)
INVOICES = """{ invoices(status: CLOSED) { edges { node { currency qualified tax company { slug }
  taxBreakdown { ratePercent } exchangeRates { source } lines { kind } } } } }"""
PORTFOLIO = "{ portfolio { company { slug } ownership fullyDilutedOwnership invested { amount currency } } }"


def test_demo_is_idempotent_and_shows_a_portfolio(
    cli: CliRunner,
    owner_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ROUNDPOOL_HOME", str(tmp_path))  # the demo's CUR file and cost store
    first = cli.invoke(app, ["demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    counts = owner_conn.execute(COUNTS + BILLING_COUNTS).fetchone()
    second = cli.invoke(app, ["demo"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert owner_conn.execute(COUNTS + BILLING_COUNTS).fetchone() == counts

    tokens = [line for line in second.stdout.splitlines() if line.count(".") == 2 and " " not in line]
    assert len(tokens) == 11
    assert all(TokenVerifier(secret=JWT_SECRET).verify(t).tenant for t in tokens)

    shown = cli.invoke(app, ["graphql", PORTFOLIO, "--user", "partner@sakura.example", "--tenant", "sakura-vc"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["data"]["portfolio"] == [
        {
            "company": {"slug": "kitsune"},
            "ownership": "0.2",  # 2,500,000 Series A of 12,500,000 outstanding
            "fullyDilutedOwnership": "0.1785714285714285714285714286",  # of 14,000,000 with the 1.5 M pool
            "invested": {"amount": "5000000.00", "currency": "USD"},
        }
    ]


def test_the_demo_bills_a_jpy_qualified_invoice_and_a_usd_invoice(
    cli: CliRunner,
    owner_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ROUNDPOOL_HOME", str(tmp_path))
    # No cost source configured at all, as in production: the demo imports its own report from its own folder.
    monkeypatch.setenv("ROUNDPOOL_COST_IMPORT_ROOTS", "[]")
    assert cli.invoke(app, ["demo"], catch_exceptions=False).exit_code == 0
    shown = cli.invoke(app, ["graphql", INVOICES, "--user", "billing@nimbus.example", "--tenant", "nimbus-ops"])
    assert shown.exit_code == 0, shown.output
    invoices = {e["node"]["company"]["slug"]: e["node"] for e in json.loads(shown.stdout)["data"]["invoices"]["edges"]}
    jpy, usd = invoices["kitsune"], invoices["bluefinch"]
    assert (jpy["currency"], jpy["qualified"], usd["currency"], usd["qualified"]) == ("JPY", True, "USD", False)
    for invoice in (jpy, usd):
        kinds = [line["kind"] for line in invoice["lines"]]
        assert kinds.count("USAGE") > 40, kinds
        assert {"CREDIT", "FEE"} <= set(kinds), kinds
    assert [b["ratePercent"] for b in jpy["taxBreakdown"]] == ["10"]
    assert Decimal(jpy["tax"]) > 0
    assert Decimal(usd["tax"]) == 0  # outside Japanese consumption tax; the AWS tax is replaced, not billed
    assert jpy["exchangeRates"][0]["source"].startswith("MUFG")
