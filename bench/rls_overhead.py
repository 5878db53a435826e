"""RLS overhead: the same list query over 100k rows, as the policy-exempt owner and as the app role under
the policies, in one run. Prints medians, the ratio and peak RSS.

    python3 bench/rls_overhead.py [--rows 100000] [--repeat 15]

Uses DATABASE_URL / MIGRATION_DATABASE_URL when set (a migrated database), else a throw-away embedded server.
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


def _seed(owner_url: str, rows: int) -> tuple[uuid.UUID, uuid.UUID]:
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
        conn.execute("analyze audit_events")
    return tenant, user


def _measure(conn: psycopg.Connection, tenant: uuid.UUID, user: uuid.UUID | None) -> tuple[float, float, int]:
    """One run in its own transaction: wall time with every row fetched, and with the rows counted server-side."""
    with conn.transaction():
        if user is not None:
            conn.execute(
                "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                (str(user), str(tenant)),
            )
        started = time.perf_counter()
        fetched = len(conn.execute(LIST_QUERY, (tenant,)).fetchall())
        wall = time.perf_counter() - started
        # The same rows produced and filtered, but counted on the server: no transfer, no EXPLAIN overhead.
        started = time.perf_counter()
        conn.execute("select count(*) from (" + LIST_QUERY + ") listed", (tenant,)).fetchone()
        server = time.perf_counter() - started
    return wall, server, fetched


def _interleaved(
    owner_url: str, app_url: str, tenant: uuid.UUID, user: uuid.UUID, repeat: int
) -> dict[str, tuple[float, float, int]]:
    """Owner and app runs alternate, so drift on a shared machine hits both alike; two warm-up rounds."""
    samples: dict[str, list[tuple[float, float, int]]] = {"owner": [], "app": []}
    with psycopg.connect(owner_url) as owner, psycopg.connect(app_url) as app:
        for round_ in range(repeat + 2):
            owner_run = _measure(owner, tenant, None)
            app_run = _measure(app, tenant, user)
            if round_ >= 2:
                samples["owner"].append(owner_run)
                samples["app"].append(app_run)
    return {
        who: (
            statistics.median(s[0] for s in runs),
            statistics.median(s[1] for s in runs),
            runs[-1][2],
        )
        for who, runs in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    app_url, owner_url = _database()
    tenant, user = _seed(owner_url, args.rows)
    results = _interleaved(owner_url, app_url, tenant, user, args.repeat)
    owner_wall, owner_server, owner_rows = results["owner"]
    app_wall, app_server, app_rows = results["app"]
    assert owner_rows == app_rows == args.rows, (owner_rows, app_rows)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"list query over {args.rows} rows of audit_events, median of {args.repeat}:")
    print(f"{'':32}{'rows counted':>14}{'rows fetched':>14}")
    print(f"{'owner (BYPASSRLS, no policies)':32}{owner_server * 1000:11.1f} ms{owner_wall * 1000:11.1f} ms")
    print(f"{'app role under the policies':32}{app_server * 1000:11.1f} ms{app_wall * 1000:11.1f} ms")
    print(f"{'ratio app/owner':32}{app_server / owner_server:14.3f}{app_wall / owner_wall:14.3f}")
    print(f"peak RSS of this process: {peak_mib:.1f} MiB")


if __name__ == "__main__":
    main()
