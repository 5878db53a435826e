"""`roundpool tenants create-operator`: the only path to an operator; its owner joins or is invited."""

import uuid

import psycopg
from typer.testing import CliRunner

from cli.main import app
from tests.plugins.world import World


def test_create_operator_makes_the_existing_user_its_owner_and_refuses_a_taken_slug(
    cli: CliRunner,
    world: World,
    owner_conn: psycopg.Connection,
) -> None:
    actor = world.actor("startup_viewer")
    slug = f"ops-{uuid.uuid4().hex[:8]}"
    made = cli.invoke(
        app, ["tenants", "create-operator", "--slug", slug, "--name", "Ops", "--owner-email", actor.email or ""]
    )
    assert made.exit_code == 0, made.output
    assert "is its owner" in made.stdout
    assert owner_conn.execute(
        "select t.kind, m.role from tenants t join memberships m on m.tenant_id = t.id where t.slug = %s", (slug,)
    ).fetchall() == [("operator", "owner")]
    count = owner_conn.execute("select count(*) from tenants").fetchone()
    again = cli.invoke(
        app, ["tenants", "create-operator", "--slug", slug, "--name", "Ops", "--owner-email", "x@y.example"]
    )
    assert again.exit_code == 1
    assert "taken" in again.output
    assert owner_conn.execute("select count(*) from tenants").fetchone() == count


def test_create_operator_invites_an_owner_without_an_account(cli: CliRunner, owner_conn: psycopg.Connection) -> None:
    slug, email = f"ops-{uuid.uuid4().hex[:8]}", f"ops-{uuid.uuid4().hex[:8]}@later.example"
    made = cli.invoke(app, ["tenants", "create-operator", "--slug", slug, "--name", "Ops", "--owner-email", email])
    assert made.exit_code == 0, made.output
    assert "invited" in made.stdout
    assert owner_conn.execute(
        "select i.role, i.status from invitations i join tenants t on t.id = i.tenant_id where t.slug = %s", (slug,)
    ).fetchall() == [("owner", "pending")]
