"""RLS overhead: the same list query over 100k rows, as the policy-exempt owner and as the app role under
the policies, in one run. Prints medians, the ratio and peak RSS.

    python3 bench/rls_overhead.py [--rows 100000] [--pairs 201] [--repeat 9] [--explain]

Uses DATABASE_URL / MIGRATION_DATABASE_URL when set (a migrated database), else a throw-away embedded server.

Method (why earlier runs gave 0.99x, 1.08x, 2.10x, 2.36x for the same plans): the server-side figure is ~5-20 ms
on a shared 2-vCPU machine, where the speed of one CPU changes from one second to the next and differs between the
two CPUs. So: the table is vacuumed after seeding (without it the index-only scan visits the heap for every row
until autovacuum sets the visibility map, which it may do in the middle of a run, halving the time); both backends
are pinned to the same CPU when the server is local; owner and app runs alternate in adjacent pairs (order swapped
every pair) and the ratio is the median of the per-pair ratios, so drift between pairs cancels.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.bootstrap import APP_ROLE, OWNER_ROLE, SUPERUSER, bootstrap
from db.embedded import start_embedded
from db.migrate import upgrade

LIST_QUERY = (
    "select id, occurred_at, action, subject_type, subject_id, details from audit_events"
    " where tenant_id = %s order by id desc"
)


def _database() -> tuple[str, str]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], os.environ.get("MIGRATION_DATABASE_URL", os.environ["DATABASE_URL"])
    server = start_embedded(Path(tempfile.mkdtemp(prefix="rp-bench-")), cleanup="delete")
    name = "roundpool_bench"
    with psycopg.connect(server.url(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {name} with (force)")
    bootstrap(server.url(SUPERUSER, "postgres"), database=name)
    owner_url = server.url(OWNER_ROLE, name)
    upgrade(owner_url)
    return server.url(APP_ROLE, name), owner_url


def seed_audit_events(owner_url: str, rows: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A startup with `rows` audit events and its owner (tenant id, user id), and a noise tenant with a tenth."""
    suffix = uuid.uuid4().hex[:8]
    with psycopg.connect(owner_url) as conn, conn.transaction():
        tenant = conn.execute(
            "insert into tenants (slug, name, kind) values (%s, 'Bench Co', 'startup') returning id",
            (f"bench-{suffix}",),
        ).fetchone()[0]  # type: ignore[index]
        noise = conn.execute(
            "insert into tenants (slug, name, kind) values (%s, 'Noise Co', 'startup') returning id",
            (f"noise-{suffix}",),
        ).fetchone()[0]  # type: ignore[index]
        user = conn.execute(
            "insert into users (email) values (%s) returning id", (f"bench-{suffix}@example.com",)
        ).fetchone()[0]  # type: ignore[index]
        conn.execute("insert into memberships values (%s, %s, 'owner')", (tenant, user))
        for target, count in ((tenant, rows), (noise, rows // 10)):
            conn.execute(
                "insert into audit_events (tenant_id, action, subject_type, subject_id, details)"
                " select %s, 'bench.event', 'bench', g::text, jsonb_build_object('n', g)"
                " from generate_series(1, %s) g",
                (target, count),
            )
    with psycopg.connect(owner_url, autocommit=True) as conn:
        # The steady state autovacuum reaches anyway: all-visible pages, fresh statistics.
        conn.execute("vacuum (analyze) audit_events")
    return tenant, user


COUNT_QUERY = "select count(*) from (" + LIST_QUERY + ") listed"


def _context(conn: psycopg.Connection, tenant: uuid.UUID, user: uuid.UUID | None) -> None:
    if user is not None:
        conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(user), str(tenant)),
        )


def _counted(conn: psycopg.Connection, tenant: uuid.UUID, user: uuid.UUID | None) -> float:
    """Rows produced and filtered but counted on the server: no transfer, no EXPLAIN instrumentation."""
    with conn.transaction():
        _context(conn, tenant, user)
        started = time.perf_counter()
        conn.execute(COUNT_QUERY, (tenant,)).fetchone()
        return time.perf_counter() - started


def _fetched(conn: psycopg.Connection, tenant: uuid.UUID, user: uuid.UUID | None) -> tuple[float, int]:
    with conn.transaction():
        _context(conn, tenant, user)
        started = time.perf_counter()
        fetched = len(conn.execute(LIST_QUERY, (tenant,)).fetchall())
        return time.perf_counter() - started, fetched


def _pin_together(*conns: psycopg.Connection) -> bool:
    """Pin the backends to one CPU (only possible when the server runs on this machine)."""
    cpu = min(os.sched_getaffinity(0))
    try:
        for conn in conns:
            os.sched_setaffinity(conn.info.backend_pid, {cpu})
    except (OSError, AttributeError):
        return False
    return True


@dataclass(frozen=True)
class Figures:
    owner: float
    app: float
    ratio: float  # median of the per-pair ratios
    low: float  # 10th and 90th percentile of the per-pair ratios
    high: float


def _paired(run: Callable[[bool], tuple[float, float]], pairs: int, warmup: int) -> Figures:
    owner, app, ratios = [], [], []
    for index in range(pairs + warmup):
        owner_s, app_s = run(index % 2 == 0)
        if index >= warmup:
            owner.append(owner_s)
            app.append(app_s)
            ratios.append(app_s / owner_s)
    deciles = statistics.quantiles(ratios, n=10) if len(ratios) > 1 else [ratios[0]] * 9
    return Figures(statistics.median(owner), statistics.median(app), statistics.median(ratios), deciles[0], deciles[-1])


def _explain(conn: psycopg.Connection, tenant: uuid.UUID, user: uuid.UUID | None) -> list[str]:
    with conn.transaction():
        _context(conn, tenant, user)
        query = "explain (analyze, buffers, timing off) " + COUNT_QUERY
        return [row[0] for row in conn.execute(query, (tenant,)).fetchall()]


def _run(
    owner_url: str, app_url: str, tenant: uuid.UUID, user: uuid.UUID, pairs: int, repeat: int, explain: bool
) -> tuple[Figures, Figures, int, bool]:
    with psycopg.connect(owner_url) as owner, psycopg.connect(app_url) as app:
        pinned = _pin_together(owner, app)
        rows: list[int] = []

        def counted(owner_first: bool) -> tuple[float, float]:
            if owner_first:
                owner_s = _counted(owner, tenant, None)
                return owner_s, _counted(app, tenant, user)
            app_s = _counted(app, tenant, user)
            return _counted(owner, tenant, None), app_s

        def fetched(owner_first: bool) -> tuple[float, float]:
            if owner_first:
                owner_run = _fetched(owner, tenant, None)
                app_run = _fetched(app, tenant, user)
            else:
                app_run = _fetched(app, tenant, user)
                owner_run = _fetched(owner, tenant, None)
            rows.extend((owner_run[1], app_run[1]))
            return owner_run[0], app_run[0]

        counted_figures = _paired(counted, pairs, warmup=10)
        fetched_figures = _paired(fetched, repeat, warmup=2)
        if explain:
            for who, conn, acting in (("owner", owner, None), ("app role", app, user)):
                print(f"-- {who}:")
                print("\n".join(_explain(conn, tenant, acting)))
    assert len(set(rows)) == 1, set(rows)  # both roles saw the same rows
    return counted_figures, fetched_figures, rows[0], pinned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=201, help="owner/app pairs of the server-side count")
    parser.add_argument("--repeat", type=int, default=9, help="owner/app pairs of the full fetch")
    parser.add_argument("--explain", action="store_true", help="print both plans (EXPLAIN ANALYZE, TIMING OFF)")
    args = parser.parse_args()
    app_url, owner_url = _database()
    tenant, user = seed_audit_events(owner_url, args.rows)
    counted, fetched, rows, pinned = _run(owner_url, app_url, tenant, user, args.pairs, args.repeat, args.explain)
    assert rows == args.rows, rows
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"list query over {args.rows} rows of audit_events; {args.pairs} counted and {args.repeat} fetched"
        f" owner/app pairs, alternating; backends {'pinned to one CPU' if pinned else 'not pinned (remote server)'}:"
    )
    print(f"{'':32}{'rows counted':>14}{'rows fetched':>14}")
    print(f"{'owner (BYPASSRLS, no policies)':32}{counted.owner * 1000:11.1f} ms{fetched.owner * 1000:11.1f} ms")
    print(f"{'app role under the policies':32}{counted.app * 1000:11.1f} ms{fetched.app * 1000:11.1f} ms")
    print(f"{'ratio app/owner (median pair)':32}{counted.ratio:14.3f}{fetched.ratio:14.3f}")
    spread = f"{counted.low:.2f}-{counted.high:.2f}", f"{fetched.low:.2f}-{fetched.high:.2f}"
    print(f"{'  10th-90th percentile of pairs':32}{spread[0]:>14}{spread[1]:>14}")
    print(f"peak RSS of this process: {peak_mib:.1f} MiB")


if __name__ == "__main__":
    main()
