"""PgBouncer in transaction mode in front of the test server, and the second route through it.

Tests in a module marked `via_pgbouncer` that use the `app_url` fixture (directly, or through `app_conn` or
`database`) run twice: `[direct]` to the server and `[pgbouncer]` through a PgBouncer whose server pool is
POOL_SIZE connections for up to MAX_CLIENTS clients, so consecutive transactions of one client, and those of
different clients, share a few server backends. Skipped (with the reason) when there is no pgbouncer binary.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.bootstrap import APP_ROLE
from db.pgbouncer import PgBouncer, PgBouncerFailed, PoolConfig, Upstream, find_binary, free_port, start_pgbouncer
from tests.plugins.database import DIRECT, TestDatabase, app_password

MARKER = "via_pgbouncer"
PGBOUNCER = "pgbouncer"
POOL_SIZE = 2
MAX_CLIENTS = 200
ADMIN = "rp_bouncer_admin"  # exists in PgBouncer's auth file only: its console, never the server
SCRATCH = "scratch"  # a database alias with a pool of its own, for tests that deliberately leave state behind
SIDE = "side"  # the side transactions' alias (db/location.py SIDE_DATABASE): a server pool of their own


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: run the test direct and again through PgBouncer (transaction mode)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker(MARKER) and "app_url" in metafunc.fixturenames:
        metafunc.parametrize("app_url", [DIRECT, PGBOUNCER], indirect=True, scope="session")


@pytest.fixture(scope="session")
def pgbouncer(test_database: TestDatabase) -> Iterator[PgBouncer]:
    binary = find_binary()
    if binary is None:
        pytest.skip("no pgbouncer binary (Debian: apt-get install pgbouncer; .ci/run installs it as root)")
    upstream = Upstream.from_url(test_database.app_url)
    users = {APP_ROLE: app_password(test_database) or secrets.token_urlsafe(18), ADMIN: secrets.token_urlsafe(18)}
    folder = Path(tempfile.mkdtemp(prefix="rp-pgbouncer-"))
    bouncer: PgBouncer | None = None
    try:
        for _attempt in range(3):  # the free port may be taken before PgBouncer binds it
            config = PoolConfig(
                upstream=upstream,
                users=users,
                listen_port=free_port(),
                aliases=(upstream.dbname, SIDE, SCRATCH),
                pool_size=POOL_SIZE,
                max_client_conn=MAX_CLIENTS,
                admin_user=ADMIN,
            )
            try:
                bouncer = start_pgbouncer(config, folder, binary=binary)
                break
            except PgBouncerFailed:
                if _attempt == 2:
                    raise
        assert bouncer is not None
        yield bouncer
    finally:
        if bouncer is not None:
            bouncer.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pgbouncer_app_url(pgbouncer: PgBouncer) -> str:
    """The app role through PgBouncer as production would configure it: nothing prepared, side transactions on
    their own alias."""
    return pgbouncer.url(APP_ROLE, side_database=SIDE)
