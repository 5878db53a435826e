"""The start-up check refuses a role that row-level security would not bind, and passes the real app role.

Throwaway roles are made by the test server's superuser (skipped when the run only has DATABASE_URL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from cli.main import app
from db.bootstrap import API_GROUP, OWNER_ROLE
from db.role_check import UnsafeAppRole, check_app_role, check_database_role
from db.session import Database
from schema.app import create_app
from schema.settings import Settings
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET

MakeRole = Callable[[str], str]


async def test_the_real_app_role_passes(test_database: TestDatabase, database: Database) -> None:
    check_app_role(test_database.app_url)
    await check_database_role(database)


@pytest.fixture
def make_role(test_database: TestDatabase) -> Iterator[MakeRole]:
    """make_role("SUPERUSER") → the URL of a fresh login role with those options, member of the API group like
    the app role; every role and object made here is dropped at the end."""
    if test_database.superuser_url is None:
        pytest.skip("needs the superuser of an embedded or container test server")
    made: list[str] = []
    with psycopg.connect(test_database.superuser_url, autocommit=True) as admin:

        def make(options: str) -> str:
            name = f"rp_probe_{uuid.uuid4().hex[:8]}"
            admin.execute(sql.SQL("create role {} login password 'probe' " + options).format(sql.Identifier(name)))
            admin.execute(sql.SQL("grant {} to {}").format(sql.Identifier(API_GROUP), sql.Identifier(name)))
            made.append(name)
            scheme, rest = test_database.app_url.split("://", 1)
            return f"{scheme}://{name}:probe@{rest.split('@', 1)[1]}"

        yield make
        for name in made:
            admin.execute(sql.SQL("drop owned by {} cascade").format(sql.Identifier(name)))
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


def _refusal(url: str) -> str:
    with pytest.raises(UnsafeAppRole) as refused:
        check_app_role(url)
    message = str(refused.value)
    assert "\n" not in message
    return message


def _role_of(url: str) -> str:
    return str(conninfo_to_dict(url)["user"])


def test_a_superuser_is_refused(make_role: MakeRole) -> None:
    url = make_role("SUPERUSER")
    assert f"{_role_of(url)!r} the server connects as is superuser" in _refusal(url)


def test_a_bypassrls_role_is_refused(make_role: MakeRole) -> None:
    url = make_role("BYPASSRLS")
    assert "has BYPASSRLS" in _refusal(url)


def test_a_member_of_a_bypassrls_role_is_refused(make_role: MakeRole, test_database: TestDatabase) -> None:
    assert test_database.superuser_url is not None
    url = make_role("NOBYPASSRLS")
    with psycopg.connect(test_database.superuser_url, autocommit=True) as admin:
        admin.execute(sql.SQL("grant {} to {}").format(sql.Identifier(OWNER_ROLE), sql.Identifier(_role_of(url))))
    message = _refusal(url)
    # the owner role: both BYPASSRLS and the owner of every table, reachable with SET ROLE
    assert f"is a member of BYPASSRLS role {OWNER_ROLE}" in message
    assert "owns relation " in message
    assert " more" in message


def test_the_owner_of_a_table_is_refused(make_role: MakeRole, test_database: TestDatabase) -> None:
    assert test_database.superuser_url is not None
    url = make_role("NOSUPERUSER NOBYPASSRLS")
    role = _role_of(url)
    check_app_role(url)  # as made, it is as harmless as the app role
    with psycopg.connect(test_database.superuser_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create table {} (id int)").format(sql.Identifier(f"{role}_table")))
        admin.execute(
            sql.SQL("alter table {} owner to {}").format(sql.Identifier(f"{role}_table"), sql.Identifier(role))
        )
    assert f"owns relation {role}_table" in _refusal(url)


async def test_the_app_lifespan_refuses_an_unsafe_role(make_role: MakeRole, settings: Settings) -> None:
    server = create_app(settings, make_role("BYPASSRLS"))
    with pytest.raises(UnsafeAppRole, match="has BYPASSRLS"):
        async with server.router.lifespan_context(server):
            pytest.fail("the app started")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_an_unsafe_role_in_one_line(
    command: str, make_role: MakeRole, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, restore_logging: None
) -> None:
    url = make_role("SUPERUSER")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("ROUNDPOOL_HOME", str(tmp_path))
    monkeypatch.setenv("ROUNDPOOL_JWT_SECRET", JWT_SECRET)

    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert f"{_role_of(url)!r} the server connects as is superuser" in line
