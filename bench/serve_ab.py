"""Serving A/B: the work tree's `roundpool serve` against another revision's, both loaded at once.

    python bench/serve_ab.py                          # HEAD~1 against the work tree: page and tiny, 6 rounds
    python bench/serve_ab.py --base main --queries page --rounds 10 --clients 4

On a shared 2-core host the speed of a CPU moves by a quarter from one run to the next, so two servers measured
one after the other differ by more than most changes do. Here both run on one database (seeded as bench/serve.py
seeds it), each with `--workers` processes, and one wrk per server drives both at the same time, so whatever
the host does in a round it does to both. Per round and server: req/s, p99 and the server's CPU per request
(its process tree's CPU time over the requests it answered); at the end the median ratio of CPU per request,
work tree / base, and its range over the rounds. Checks first that both servers give the same answers.

The base revision is checked out in a temporary git worktree and served from there by the same interpreter
(its packages first on PYTHONPATH); the database is migrated by the work tree's code only, so the base must not
need a migration the work tree lacks. Prints the peak RSS of each server's processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import serve  # noqa: E402  (bench/serve.py: the database, the seeding, the servers)


@contextmanager
def _worktree(revision: str) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="rp-ab-"))
    tree = home / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(home, ignore_errors=True)


def _start(
    name: str, code: Path | None, database: serve.Database, secret: str, home: Path, workers: int
) -> serve.Server:
    """`roundpool serve` from `code` (None: the work tree), as bench/serve.py starts it, without migrating."""
    port = serve._free_port()
    env = os.environ | {
        "DATABASE_URL": database.app_url,
        "ROUNDPOOL_ENVIRONMENT": "production",
        "ROUNDPOOL_JWT_SECRET": secret,
        "ROUNDPOOL_HOME": str(home / f"{name}-home"),
        "ROUNDPOOL_STATEMENT_TIMEOUT_MS": str(serve.STATEMENT_TIMEOUT_MS),
    }
    env.pop("MIGRATION_DATABASE_URL", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    command = [
        sys.executable,
        "-c",
        "from cli.main import app; app()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        f"--workers={workers}",
    ]
    return serve._spawn("roundpool", command, env, code or ROOT, home / f"{name}.log", port)


def _round(
    servers: dict[str, serve.Server], query: serve.Query, caller: serve.Caller, clients: int, seconds: int, work: Path
) -> dict[str, tuple[float, float, float]]:
    """(req/s, p99 ms, CPU µs per request) of each server, both loaded at once."""
    script = work / "load.lua"
    script.write_text(serve._LUA.format(body=json.dumps(serve._body("roundpool", query, caller)), token=caller.token))
    before = {label: serve._cpu_seconds(s.tree()) for label, s in servers.items()}
    runs = {
        label: subprocess.Popen(
            ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), s.url],
            stdout=subprocess.PIPE,
            text=True,
        )
        for label, s in servers.items()
    }
    outputs = {label: run.communicate(timeout=seconds + 60)[0] for label, run in runs.items()}
    measured = {}
    for label, s in servers.items():
        cpu = serve._cpu_seconds(s.tree()) - before[label]
        out = outputs[label]
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non_2xx:
            raise RuntimeError(f"{label}: {non_2xx.group(1)} failed requests")
        p99 = serve._wrk_unit_ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
        measured[label] = (requests / seconds, p99, 1e6 * cpu / max(requests, 1))
    return measured


def _peak_rss_mib(server: serve.Server) -> float:
    """The sum of the peak RSS (VmHWM) of the server's processes."""
    total = 0
    for process in server.tree():
        status = Path(f"/proc/{process.pid}/status").read_text()
        total += int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare the work tree against")
    parser.add_argument("--queries", default="page,tiny")
    parser.add_argument("--clients", type=int, default=4, help="wrk's connections per server")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1, help="processes per server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (apt-get install -y wrk)")
    work = Path(tempfile.mkdtemp(prefix="rp-serve-ab-"))
    database = serve._database(work / "db")
    servers: dict[str, serve.Server] = {}
    try:
        with _worktree(args.base) as tree:
            secret = "ab-" + os.urandom(16).hex()
            callers = serve._seed(database, secret, 10_000, 200)
            servers["base"] = _start("base", tree, database, secret, work, args.workers)
            servers["work"] = _start("work", None, database, secret, work, args.workers)
            names = args.queries.split(",")
            for label, server in servers.items():
                serve._wait_ready(server, serve.QUERIES["tiny"], callers["tiny"], work / f"{label}.log")
            for name in names:
                answers = [serve._post(s, serve.QUERIES[name], callers[name]) for s in servers.values()]
                if answers[0] != answers[1]:
                    raise RuntimeError(f"{name}: the base and the work tree answer differently")
            print(f"base {args.base} against the work tree, {args.workers} worker(s) each, {args.clients} clients")
            for name in names:
                ratios = []
                for index in range(args.rounds):
                    measured = _round(servers, serve.QUERIES[name], callers[name], args.clients, args.seconds, work)
                    base, ours = measured["base"], measured["work"]
                    ratios.append(ours[2] / base[2])
                    print(
                        f"{name:<10} round {index + 1}: base {base[0]:7.1f} req/s p99 {base[1]:6.1f} ms"
                        f" {base[2]:6.0f} µs/req | work {ours[0]:7.1f} req/s p99 {ours[1]:6.1f} ms"
                        f" {ours[2]:6.0f} µs/req | {ratios[-1]:.3f}",
                        flush=True,
                    )
                print(
                    f"{name:<10} CPU per request, work / base: median {statistics.median(ratios):.3f}"
                    f" (range {min(ratios):.3f}-{max(ratios):.3f}, {len(ratios)} rounds)"
                )
            for label, server in servers.items():
                print(f"{label}: peak RSS {_peak_rss_mib(server):.0f} MiB ({len(server.tree())} processes)")
    finally:
        for server in servers.values():
            serve._stop(server)
        database.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
