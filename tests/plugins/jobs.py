"""Real `roundpool worker` processes on the test database and the test's store, for the job recovery tests:
`start_worker` starts them (a stalling one from tests/resolvers/stalling_worker.py pauses at a known point so
that it can be SIGKILLed mid-job) and kills what is left at teardown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]
STALL_AFTER_S = 2.0

Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(test_database: TestDatabase, owner_conn: psycopg.Connection, tmp_path: Path) -> Iterator[Start]:
    """Start a worker process on the test database and the test's store (tests.plugins.costs.cost_store)."""
    # Jobs queued by other tests (run inline there) are not these workers' business.
    owner_conn.execute("update procrastinate_jobs set status = 'cancelled' where status = 'todo'")
    first_worker = owner_conn.execute("select coalesce(max(id), 0) from procrastinate_workers").fetchone()
    assert first_worker is not None
    env = {k: v for k, v in os.environ.items() if k != "MIGRATION_DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": test_database.app_url,
            "ROUNDPOOL_JWT_SECRET": JWT_SECRET,
            "ROUNDPOOL_ENVIRONMENT": "development",
            "ROUNDPOOL_HOME": str(tmp_path / "home"),
            "ROUNDPOOL_COST_STORE": str(tmp_path / "cost-store"),
            "ROUNDPOOL_JOB_HEARTBEAT_S": "0.5",
            "ROUNDPOOL_JOB_STALLED_AFTER_S": str(STALL_AFTER_S),
            "ROUNDPOOL_JOB_RECOVERY_INTERVAL_S": "1",
            # The scheduled store vacuum fires at fixed hours (00:00, 06:00 …): off, so a run near one of them
            # does not remove the dead attempt's folder these tests look for before they vacuum it themselves.
            "ROUNDPOOL_STORE_VACUUM_INTERVAL_S": "0",
        }
    )
    started: list[subprocess.Popen[bytes]] = []

    def start(*command: str, max_retries: int = 2) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, "-m", *command],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "ROUNDPOOL_JOB_MAX_RETRIES": str(max_retries)},
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
    # What the killed workers left: their silent rows (a later `cost import --wait` must not count them).
    owner_conn.execute("delete from procrastinate_workers where id > %s", first_worker)


def stalling(kind: str, marker: Path) -> tuple[str, ...]:
    return ("tests.resolvers.stalling_worker", kind, str(marker))


WORKER = ("cli.main", "worker")


async def until(check: Callable[[], Any], what: str, seconds: float = 20.0) -> Any:
    for _ in range(int(seconds / 0.1)):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)  # graceful: procrastinate unregisters the worker
    process.wait(timeout=15)
