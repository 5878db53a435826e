"""Real `roundpool serve` and `roundpool worker` processes on the test database and one cost store, for tests
of horizontal serving.

`horizontal` starts them once per test module (starting a process costs seconds; the tests share them and
stay apart by their fresh worlds: every operator has its own store folder, locks and counters). The last API
process reaches the database through the session's PgBouncer in transaction mode (tests/plugins/pgbouncer.py)
when the binary is installed, so both routes serve the same races side by side. Every process is stopped at
teardown, also when a test failed: SIGTERM first (a worker unregisters, uvicorn drains), SIGKILL to its process
group after a grace period (a serve process's workers are its children). Each process writes its own log file;
one that dies while starting fails with its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from db.bootstrap import APP_ROLE
from db.pgbouncer import ADMIN_DATABASE, PgBouncer, find_binary
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET
from tests.plugins.pgbouncer import ADMIN

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "horizontal-metrics-" + "m" * 16
API_PROCESSES = 2
WORKER_PROCESSES = 2
_START_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Started:
    """One process: its log, and for an API process the base URL it listens on."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass(frozen=True)
class Horizontal:
    apis: list[Started]
    workers: list[Started]
    store_root: Path  # the one cost store every process reads and writes
    bouncer: PgBouncer | None  # what the last API process connects through, if any

    def transactions_through_bouncer(self) -> int:
        """Transactions PgBouncer has passed to the server for the app role's database so far."""
        assert self.bouncer is not None
        url = self.bouncer.url(ADMIN, ADMIN_DATABASE, prepare_threshold=None)
        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute("show stats")
            names = [column.name for column in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        database = self.bouncer.config.databases()[0]
        return sum(int(row["total_xact_count"]) for row in rows if row["database"] == database)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(app_url: str, store_root: Path) -> dict[str, str]:
    """The app role only (nothing migrates), the one store, the tests' JWT secret, /metrics on."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ROUNDPOOL_") and key not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")
    }
    env.update(
        {
            "DATABASE_URL": app_url,
            "ROUNDPOOL_ENVIRONMENT": "development",
            "ROUNDPOOL_JWT_SECRET": JWT_SECRET,
            "ROUNDPOOL_COST_STORE": str(store_root),
            "ROUNDPOOL_METRICS_TOKEN": METRICS_TOKEN,
            "ROUNDPOOL_POOL_SIZE": "5",
            "ROUNDPOOL_JOB_HEARTBEAT_S": "1",
            # The scheduled store vacuum would race the assertions on staged folders; these tests are not about it.
            "ROUNDPOOL_STORE_VACUUM_INTERVAL_S": "0",
        }
    )
    return env


def _spawn(env: dict[str, str], folder: Path, name: str, *arguments: str, url: str = "") -> Started:
    log = folder / f"{name}.log"
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *arguments],
            cwd=ROOT,
            env={**env, "ROUNDPOOL_HOME": str(folder / f"home-{name}")},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the test run reaches it only through the teardown
        )
    return Started(process, log, url)


def _stop(started: list[Started]) -> None:
    for one in started:  # all signalled first, so they shut down side by side
        if one.process.poll() is None:
            one.process.send_signal(signal.SIGTERM)
    for one in started:
        try:
            one.process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(one.process.pid, signal.SIGKILL)  # its own session: the process and its children
            one.process.wait()


def _ready(api: Started) -> bool:
    try:
        return httpx.get(f"{api.url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _registered(conn: psycopg.Connection, after: int) -> int:
    row = conn.execute("select count(*) from procrastinate_workers where id > %s", (after,)).fetchone()
    assert row is not None
    return int(row[0])


def _until_started(apis: list[Started], workers: list[Started], conn: psycopg.Connection, after: int) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    waiting = list(apis)
    while waiting or _registered(conn, after) < len(workers):
        for one in [*apis, *workers]:
            assert one.process.poll() is None, one.output()
        assert time.monotonic() < deadline, "\n".join(one.output() for one in [*apis, *workers])
        waiting = [api for api in waiting if not _ready(api)]
        time.sleep(0.2)


@pytest.fixture(scope="module")
def horizontal(
    request: pytest.FixtureRequest, test_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Horizontal]:
    """API_PROCESSES `roundpool serve --workers 1` processes, each on its own port (the last through PgBouncer
    when it is installed), and WORKER_PROCESSES `roundpool worker` processes (direct: procrastinate LISTENs),
    all started and registered, on one store."""
    folder = tmp_path_factory.mktemp("horizontal")
    store_root = folder / "cost-store"
    env = _environment(test_database.app_url, store_root)
    bouncer: PgBouncer | None = request.getfixturevalue("pgbouncer") if find_binary() else None
    routes = [env] * (API_PROCESSES - 1)
    routes.append(_environment(bouncer.url(APP_ROLE), store_root) if bouncer else env)
    with psycopg.connect(test_database.owner_url, autocommit=True) as conn:
        # Jobs queued by other tests (run inline there) are not these workers' business.
        conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
        row = conn.execute("select coalesce(max(id), 0) from procrastinate_workers").fetchone()
        assert row is not None
        first = int(row[0])
        apis = []
        for index, route in enumerate(routes):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            apis.append(_spawn(route, folder, f"api-{index}", "serve", "--workers", "1", "--port", str(port), url=url))
        workers = [_spawn(env, folder, f"worker-{index}", "worker") for index in range(WORKER_PROCESSES)]
        try:
            _until_started(apis, workers, conn, first)
            yield Horizontal(apis, workers, store_root, bouncer)
        finally:
            _stop([*apis, *workers])
            conn.execute("delete from procrastinate_workers where id > %s", (first,))
