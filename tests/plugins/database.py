"""The test database: DATABASE_URL (+ MIGRATION_DATABASE_URL) when given, else a testcontainers PostgreSQL
when a Docker engine answers, else the embedded server in a temporary folder. Migrations run as the owner;
tests that exercise the API connect as the app role only."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
import pytest

from db.bootstrap import APP_ROLE, OWNER_ROLE, SUPERUSER, bootstrap
from db.location import driver_dsn
from db.migrate import upgrade
from db.session import Database

TEST_DATABASE = "roundpool_test"
DIRECT = "direct"  # the app role's route to the server; tests/plugins/pgbouncer.py adds the other one


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False  # a fixture value, not a test class

    app_url: str
    owner_url: str
    superuser_url: str | None


def _docker_answers() -> bool:
    # Without an endpoint there is nothing to ask; constructing a client would open (and leak) a socket.
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env(timeout=2)
    except Exception:  # no client library or no socket: no Docker here
        return False
    try:
        return bool(client.ping())
    except Exception:  # a socket with no engine answering
        return False
    finally:
        client.close()


def _fresh(superuser_url: str, url_for: callable) -> TestDatabase:  # type: ignore[valid-type]
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        conn.execute(f"drop database if exists {TEST_DATABASE} with (force)")
    bootstrap(superuser_url, database=TEST_DATABASE, owner_password="owner", app_password="app")
    return TestDatabase(
        app_url=url_for(APP_ROLE, "app", TEST_DATABASE),
        owner_url=url_for(OWNER_ROLE, "owner", TEST_DATABASE),
        superuser_url=url_for(SUPERUSER, None, TEST_DATABASE),
    )


@pytest.fixture(scope="session")
def test_database() -> Iterator[TestDatabase]:
    if os.environ.get("DATABASE_URL"):
        app_url = os.environ["DATABASE_URL"]
        owner_url = os.environ.get("MIGRATION_DATABASE_URL", app_url)
        upgrade(owner_url)
        yield TestDatabase(app_url=app_url, owner_url=owner_url, superuser_url=None)
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(5432)

            def url_for(user: str, password: str | None, database: str) -> str:
                secret = f":{password or container.password}"
                return f"postgresql://{user}{secret}@{host}:{port}/{database}"

            superuser = f"postgresql://{container.username}:{container.password}@{host}:{port}/postgres"
            found = _fresh(superuser, url_for)
            upgrade(found.owner_url)
            yield found
        return
    from db.embedded import start_embedded

    home = Path(tempfile.mkdtemp(prefix="rp-test-"))
    server = start_embedded(home, cleanup="delete")

    def embedded_url(user: str, password: str | None, database: str) -> str:
        return server.url(user, database)

    found = _fresh(server.url(SUPERUSER, "postgres"), embedded_url)
    upgrade(found.owner_url)
    yield found
    shutil.rmtree(home, ignore_errors=True)


def app_password(found: TestDatabase) -> str | None:
    return psycopg.conninfo.conninfo_to_dict(found.app_url).get("password")  # type: ignore[return-value]


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    """psycopg.connect for a DSN that may carry driver options (`?prepare_threshold=`, db/location.py)."""
    dsn = driver_dsn(url)
    return psycopg.connect(dsn.conninfo, **{**dsn.connect_args, **kwargs})


@pytest.fixture(scope="session")
def app_url(request: pytest.FixtureRequest, test_database: TestDatabase) -> str:
    """The app role's DSN: the server's, or PgBouncer's for the `[pgbouncer]` run of a module marked
    `via_pgbouncer` (tests/plugins/pgbouncer.py parametrises this fixture)."""
    if getattr(request, "param", DIRECT) == DIRECT:
        return test_database.app_url
    return str(request.getfixturevalue("pgbouncer_app_url"))


@pytest.fixture(scope="session")
def owner_url(test_database: TestDatabase) -> str:
    return test_database.owner_url


@pytest.fixture
def owner_conn(test_database: TestDatabase) -> Iterator[psycopg.Connection]:
    """The owner (BYPASSRLS): seeds fixtures and counts rows behind the policies' back to check denials."""
    with psycopg.connect(test_database.owner_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_conn(app_url: str) -> Iterator[psycopg.Connection]:
    """A raw connection as the app role, for SQL-level policy tests."""
    with connect(app_url) as conn:
        yield conn


@pytest.fixture(scope="session")
async def database(app_url: str) -> AsyncIterator[Database]:
    db = Database(app_url, pool_size=4, statement_timeout_ms=5_000)
    yield db
    await db.dispose()
