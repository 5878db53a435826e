"""Start-up in production: every incomplete or wrong setting stops the command with one line naming it,
before anything starts, connects as the wrong role, or changes the database."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from cli.main import app
from cli.worker_health import beat, heartbeat_path, unhealthy
from db.session import Database
from tests.plugins.database import TestDatabase

SECRET = "p" * 40
REFUSED_PASSWORD = "never-shown-9f3a"


@pytest.fixture(autouse=True)
def _logging_restored(restore_logging: None) -> None:
    """Every test here runs a command that points the root logger at the runner's stderr."""


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ROUNDPOOL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ROUNDPOOL_ENVIRONMENT", "production")
    monkeypatch.setenv("ROUNDPOOL_JWT_SECRET", SECRET)
    for name in (
        "DATABASE_URL",
        "MIGRATION_DATABASE_URL",
        "ROUNDPOOL_JWT_PUBLIC_KEY_FILE",
        "ROUNDPOOL_JWT_JWKS_FILE",
        "BOOTSTRAP_DATABASE_URL",
        "ROUNDPOOL_OWNER_PASSWORD",
        "ROUNDPOOL_APP_PASSWORD",
        "ROUNDPOOL_OWNER_PASSWORD_FILE",
        "ROUNDPOOL_APP_PASSWORD_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _refused(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    return line


def _with(url: str, **changes: str) -> str:
    """`url` with some parts replaced, still in URL form (a socket directory goes in the query)."""
    parts = {**conninfo_to_dict(url), **changes}
    host = parts.get("host", "")
    where = f"{host}:{parts.get('port', 5432)}" if host and not host.startswith("/") else ""
    query = f"?host={host}&port={parts.get('port', 5432)}" if host.startswith("/") else ""
    secret = f":{parts['password']}" if parts.get("password") else ""
    return f"postgresql://{parts['user']}{secret}@{where}/{parts['dbname']}{query}"


def _revision(owner_url: str) -> str:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("select version_num from alembic_version").fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["db", "upgrade"]])
def test_production_never_starts_an_embedded_database(
    production: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    line = _refused(*command)
    assert line == "error: production needs DATABASE_URL (the app role's DSN); it never starts an embedded database"
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir())


@pytest.mark.parametrize("environment", ["production", "development"])
def test_a_migration_dsn_alone_does_not_start_an_embedded_database(
    production: pytest.MonkeyPatch, tmp_path: Path, test_database: TestDatabase, environment: str
) -> None:
    production.setenv("ROUNDPOOL_ENVIRONMENT", environment)
    production.setenv("MIGRATION_DATABASE_URL", test_database.owner_url)
    line = _refused("serve")
    assert line.startswith("error: MIGRATION_DATABASE_URL is set but DATABASE_URL is not")
    assert not (tmp_path / "home" / "postgres").exists()


def test_production_needs_a_jwt_key(production: pytest.MonkeyPatch, test_database: TestDatabase) -> None:
    production.delenv("ROUNDPOOL_JWT_SECRET")
    production.setenv("DATABASE_URL", test_database.app_url)
    assert _refused("serve") == (
        "error: production needs ROUNDPOOL_JWT_PUBLIC_KEY_FILE, ROUNDPOOL_JWT_JWKS_FILE or ROUNDPOOL_JWT_SECRET"
    )


def test_an_unparsable_setting_is_one_line(production: pytest.MonkeyPatch) -> None:
    production.setenv("ROUNDPOOL_MAX_DEPTH", "abc")
    line = _refused("serve")
    assert line.startswith("error: invalid settings: ROUNDPOOL_MAX_DEPTH: ")
    assert "abc" not in line


def test_an_unreachable_server_is_one_line(production: pytest.MonkeyPatch, test_database: TestDatabase) -> None:
    production.setenv("DATABASE_URL", f"postgresql://roundpool_app:{REFUSED_PASSWORD}@127.0.0.1:1/roundpool")
    line = _refused("serve")
    assert line.startswith("error: DATABASE_URL: cannot connect to database roundpool on 127.0.0.1:1 as roundpool_app:")
    assert REFUSED_PASSWORD not in line


def test_a_refused_login_is_one_line(production: pytest.MonkeyPatch, test_database: TestDatabase) -> None:
    production.setenv("DATABASE_URL", _with(test_database.app_url, user="no_such_role_12b", password=REFUSED_PASSWORD))
    line = _refused("serve")
    assert line.startswith("error: DATABASE_URL: cannot connect to database")
    assert "no_such_role_12b" in line
    assert REFUSED_PASSWORD not in line


def test_a_malformed_dsn_is_named_not_quoted(production: pytest.MonkeyPatch) -> None:
    production.setenv("DATABASE_URL", f"not a dsn {REFUSED_PASSWORD}")
    assert _refused("serve") == "error: DATABASE_URL is not a valid PostgreSQL URL"


def test_migrations_refuse_the_app_role_and_change_nothing(
    production: pytest.MonkeyPatch, test_database: TestDatabase
) -> None:
    before = _revision(test_database.owner_url)
    production.setenv("DATABASE_URL", test_database.app_url)
    assert _refused("db", "upgrade").startswith("error: migrations need MIGRATION_DATABASE_URL, the owner role's DSN")

    production.setenv("MIGRATION_DATABASE_URL", test_database.app_url)
    for command in (["db", "upgrade"], ["serve"]):  # serve migrates when it holds a migration DSN
        line = _refused(*command)
        assert line.startswith("error: MIGRATION_DATABASE_URL connects as 'roundpool_app', which does not own database")
    assert _revision(test_database.owner_url) == before


def test_migrations_refuse_a_superuser(production: pytest.MonkeyPatch, test_database: TestDatabase) -> None:
    if test_database.superuser_url is None:
        pytest.skip("no superuser DSN for this test database")
    production.setenv("DATABASE_URL", test_database.app_url)
    production.setenv("MIGRATION_DATABASE_URL", test_database.superuser_url)
    assert _refused("db", "upgrade").startswith("error: MIGRATION_DATABASE_URL connects as superuser")


def test_the_owner_migrates(production: pytest.MonkeyPatch, test_database: TestDatabase) -> None:
    production.setenv("DATABASE_URL", test_database.app_url)
    production.setenv("MIGRATION_DATABASE_URL", test_database.owner_url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output


def _passwords(superuser_url: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(superuser_url) as conn:
        rows = conn.execute(
            "select rolname, rolpassword from pg_authid where rolname like 'roundpool%' order by rolname"
        ).fetchall()
    return [(str(name), password) for name, password in rows]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "error: roundpool_owner needs a password: set ROUNDPOOL_OWNER_PASSWORD or ROUNDPOOL_OWNER_PASSWORD_FILE"),
        (
            {"ROUNDPOOL_OWNER_PASSWORD": "owner-secret"},
            "error: roundpool_app needs a password: set ROUNDPOOL_APP_PASSWORD or ROUNDPOOL_APP_PASSWORD_FILE",
        ),
        (
            {"ROUNDPOOL_OWNER_PASSWORD": "same-secret", "ROUNDPOOL_APP_PASSWORD": "same-secret"},
            "error: ROUNDPOOL_OWNER_PASSWORD and ROUNDPOOL_APP_PASSWORD are the same",
        ),
        (
            {"ROUNDPOOL_OWNER_PASSWORD": "owner-secret", "ROUNDPOOL_APP_PASSWORD_FILE": "EMPTY"},
            "error: ROUNDPOOL_APP_PASSWORD: the password of roundpool_app is empty",
        ),
        (
            {"ROUNDPOOL_OWNER_PASSWORD": "owner-secret", "ROUNDPOOL_APP_PASSWORD_FILE": "MISSING"},
            "error: ROUNDPOOL_APP_PASSWORD_FILE: cannot read",
        ),
        (
            {"ROUNDPOOL_OWNER_PASSWORD": "owner-secret", "ROUNDPOOL_OWNER_PASSWORD_FILE": "EMPTY"},
            "error: set ROUNDPOOL_OWNER_PASSWORD or its file",
        ),
    ],
)
def test_bootstrap_refuses_login_roles_without_passwords(
    production: pytest.MonkeyPatch,
    test_database: TestDatabase,
    tmp_path: Path,
    environment: dict[str, str],
    expected: str,
) -> None:
    if test_database.superuser_url is None:
        pytest.skip("no superuser DSN for this test database")
    (tmp_path / "empty").write_text("\n")
    files = {"EMPTY": str(tmp_path / "empty"), "MISSING": str(tmp_path / "missing")}
    production.setenv("BOOTSTRAP_DATABASE_URL", test_database.superuser_url)
    for name, value in environment.items():
        production.setenv(name, files.get(value, value))
    before = _passwords(test_database.superuser_url)

    line = _refused("db", "bootstrap")

    assert line.startswith(expected), line
    assert "owner-secret" not in line
    assert _passwords(test_database.superuser_url) == before


def test_bootstrap_refuses_an_unreachable_superuser(production: pytest.MonkeyPatch) -> None:
    production.setenv("BOOTSTRAP_DATABASE_URL", f"postgresql://postgres:{REFUSED_PASSWORD}@127.0.0.1:1/postgres")
    production.setenv("ROUNDPOOL_OWNER_PASSWORD", "owner-secret")
    production.setenv("ROUNDPOOL_APP_PASSWORD", "app-secret")
    line = _refused("db", "bootstrap")
    assert line.startswith("error: BOOTSTRAP_DATABASE_URL: cannot connect to database postgres on 127.0.0.1:1")
    assert REFUSED_PASSWORD not in line


def test_worker_check_without_a_worker_fails(production: pytest.MonkeyPatch) -> None:
    assert _refused("worker", "--check").startswith("unhealthy: no worker heartbeat in ")


def test_worker_check_reads_the_heartbeat(production: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = heartbeat_path(tmp_path / "home")
    path.parent.mkdir(parents=True)
    path.write_text(f"{time.time()}\n")
    assert CliRunner().invoke(app, ["worker", "--check"]).exit_code == 0
    path.write_text(f"{time.time() - 61}\n")  # older than ROUNDPOOL_JOB_STALLED_AFTER_S (60)
    assert "last heartbeat is 61 s old" in _refused("worker", "--check")


async def test_the_heartbeat_is_written_after_reaching_the_database(
    test_database: TestDatabase, tmp_path: Path
) -> None:
    import asyncio
    import contextlib

    path = tmp_path / "worker-heartbeat"
    unreachable = Database(
        _with(test_database.app_url, port="1", host="127.0.0.1"), pool_size=1, statement_timeout_ms=1000
    )
    reachable = Database(test_database.app_url, pool_size=1, statement_timeout_ms=1000)
    try:
        for database, written in ((unreachable, False), (reachable, True)):
            task = asyncio.create_task(beat(database, path, 0.05))
            await asyncio.sleep(0.5)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert path.exists() is written
        assert unhealthy(path, 5) is None
    finally:
        await unreachable.dispose()
        await reachable.dispose()


def test_keyword_dsns_are_refused(production: pytest.MonkeyPatch, test_database: TestDatabase) -> None:
    keywords = " ".join(f"{key}={value}" for key, value in conninfo_to_dict(test_database.app_url).items())
    production.setenv("DATABASE_URL", keywords)  # `user=… dbname=…`: psycopg reads it, the engine would not
    assert _refused("serve") == "error: DATABASE_URL is not a valid PostgreSQL URL"
