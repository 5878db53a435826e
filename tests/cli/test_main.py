"""The CLI runs documents through the same auth context, transaction and policies as HTTP."""

import json
from typing import Any

from typer.testing import CliRunner

from cli.main import app
from policies.tokens import TokenVerifier
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET, gid
from tests.plugins.world import World

COMPANIES = "{ companies { edges { node { legalName company { slug } } } } }"
REVOKE = "mutation($id: ID!) { revokePortfolioAccess(id: $id) { __typename ... on PortfolioGrant { status } } }"


def _run(cli: CliRunner, *args: str) -> Any:
    result = cli.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_vc_sees_the_granted_startup_until_it_revokes(cli: CliRunner, world: World) -> None:
    vc, founder = world.actor("vc_active"), world.actor("startup_owner")
    assert vc.email
    assert founder.email
    assert vc.tenant_slug
    assert founder.tenant_slug

    before = _run(cli, "graphql", COMPANIES, "--user", vc.email, "--tenant", vc.tenant_slug)
    slugs = [e["node"]["company"]["slug"] for e in before["data"]["companies"]["edges"]]
    assert slugs == [world.slugs["startup"]]

    variables = json.dumps({"id": gid("PortfolioGrant", world.grants["vc_active"])})
    revoked = _run(
        cli, "graphql", REVOKE, "--variables", variables, "--user", founder.email, "--tenant", founder.tenant_slug
    )
    assert revoked["data"]["revokePortfolioAccess"] == {"__typename": "PortfolioGrant", "status": "REVOKED"}

    after = _run(cli, "graphql", COMPANIES, "--user", vc.email, "--tenant", vc.tenant_slug)
    assert after["data"]["companies"]["edges"] == []


def test_graphql_refuses_a_tenant_the_user_does_not_belong_to(cli: CliRunner, world: World) -> None:
    vc = world.actor("vc_active")
    result = cli.invoke(app, ["graphql", COMPANIES, "--user", vc.email or "", "--tenant", world.slugs["startup"]])
    assert result.exit_code == 1
    assert "not a member" in result.output


def test_graphql_reports_errors_with_a_nonzero_exit(cli: CliRunner, world: World) -> None:
    viewer = world.actor("startup_viewer")
    result = cli.invoke(
        app,
        [
            "graphql",
            "{ auditEvents { edges { cursor } } }",
            "--user",
            viewer.email or "",
            "--tenant",
            viewer.tenant_slug or "",
        ],
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_token_mints_a_verifiable_token_for_the_user(cli: CliRunner, world: World) -> None:
    actor = world.actor("startup_admin")
    result = cli.invoke(app, ["token", "--user", actor.email or "", "--tenant", actor.tenant_slug or ""])
    assert result.exit_code == 0, result.output
    claims = TokenVerifier(secret=JWT_SECRET).verify(result.stdout.strip())
    assert (claims.subject, claims.tenant) == (str(actor.user_id), actor.tenant_slug)


def test_token_for_an_unknown_user_fails_cleanly(cli: CliRunner) -> None:
    result = cli.invoke(app, ["token", "--user", "nobody@example.com"])
    assert result.exit_code == 1
    assert "no user" in result.output


def test_db_url_prints_the_configured_dsns(cli: CliRunner, test_database: TestDatabase) -> None:
    assert cli.invoke(app, ["db", "url"]).stdout.strip() == test_database.app_url
    assert cli.invoke(app, ["db", "url", "--role", "owner"]).stdout.strip() == test_database.owner_url
