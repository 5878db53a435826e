"""`roundpool serve --workers 2` on the embedded database: both processes answer, one job worker runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

ROUNDPOOL = str(Path(sys.executable).with_name("roundpool"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ROUNDPOOL_") and key not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")
    }
    env["ROUNDPOOL_HOME"] = str(tmp_path / "home")
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [ROUNDPOOL, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.5)
        yield base, env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: uvicorn and its workers
            process.wait()
        log.close()


def _owner_url(env: dict[str, str]) -> str:
    result = subprocess.run(
        [ROUNDPOOL, "db", "url", "--role", "owner"], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip().splitlines()[-1]


def _job_workers(owner_url: str) -> int:
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("select count(*) from procrastinate_workers").fetchone()
    assert row is not None
    return int(row[0])


def test_two_workers_answer_and_one_job_worker_runs(served: tuple[str, dict[str, str]]) -> None:
    base, env = served
    with httpx.Client(base_url=base, timeout=10) as client:
        answers = [client.post("/graphql", json={"query": "{ __typename }"}) for _ in range(20)]
    assert {response.status_code for response in answers} == {200}
    assert all(response.json() == {"data": {"__typename": "Query"}} for response in answers)
    owner_url = _owner_url(env)
    deadline = time.monotonic() + 30
    while _job_workers(owner_url) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # a second job worker, if any, has registered by now
    assert _job_workers(owner_url) == 1
