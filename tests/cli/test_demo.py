"""`roundpool demo`: tenants and users seeded once, Kitsune's cap table written through the API, tokens that
verify; running it again changes nothing."""

import json

import psycopg
from typer.testing import CliRunner

from cli.main import app
from policies.tokens import TokenVerifier
from tests.cli.test_main import cli  # noqa: F401  (the fixture: CLI pointed at the test database)
from tests.plugins.graphql import JWT_SECRET

PORTFOLIO = "{ portfolio { company { slug } ownership fullyDilutedOwnership invested { amount currency } } }"


def test_demo_is_idempotent_and_shows_a_portfolio(cli: CliRunner, owner_conn: psycopg.Connection) -> None:  # noqa: F811
    first = cli.invoke(app, ["demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    counts = owner_conn.execute(
        "select (select count(*) from tenants), (select count(*) from users), (select count(*) from captable_objects)"
    ).fetchone()
    second = cli.invoke(app, ["demo"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert owner_conn.execute(
        "select (select count(*) from tenants), (select count(*) from users), (select count(*) from captable_objects)"
    ).fetchone() == counts

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
