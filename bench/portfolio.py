"""Portfolio benchmark: the `portfolio` GraphQL query of a VC with many granting companies.

    python bench/portfolio.py --companies 200 --runs 50
    python bench/portfolio.py --companies 20,200

Seeds, as the owner (COPY into the ledger, snapshots from the real `resolvers.captable.ledgers.compute_snapshot`), a VC
and N startups of ~50 stakeholders and ~500 ledger events each, one active `captable` grant each and one
stakeholder linked to the VC. Then runs the query through the real path (`schema.execution.execute` with the
credentials a verified bearer token gives, as `roundpool serve` passes them: one transaction whose first round
trip resolves the VC's principal and binds its context, the query under the policies) `--runs` times,
the start-up heap frozen first as `roundpool serve` does, and prints p50/p95 latency, the SQL statements per
request (every statement the driver sends, on any path) and the peak RSS. Uses DATABASE_URL (app role) and
MIGRATION_DATABASE_URL (owner) when set, else an embedded server in a
temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from psycopg.types.json import Jsonb

import db.session
from db.bootstrap import APP_ROLE, OWNER_ROLE, SUPERUSER, bootstrap
from db.migrate import upgrade
from db.session import Database
from policies.tokens import Claims
from resolvers.captable.ledgers import compute_snapshot, ledger_from_items
from resolvers.common.principals import Credentials
from schema.build import build_schema
from schema.execution import GraphQLRequest, execute
from schema.heap import freeze_start_up_heap

QUERY = """
query { portfolio {
  company { slug name } asOf stakeholderIds ownership fullyDilutedOwnership invested { amount currency }
  latestPricePerShare { amount } holdingValue { amount } moic { value undefinedReason }
} }
"""
USD = "USD"


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": USD}


def company_items(n: int) -> list[dict[str, Any]]:
    """~50 stakeholders and ~500 events: founders, employees' stock and options, transfers, a priced round."""
    items: list[dict[str, Any]] = [
        {"object_type": "ISSUER", "id": f"issuer-{n}", "legal_name": f"Company {n}"},
        {
            "object_type": "STOCK_CLASS",
            "id": "common",
            "name": "Common",
            "class_type": "COMMON",
            "default_id_prefix": "CS-",
            "initial_shares_authorized": "100000000",
            "votes_per_share": "1",
            "seniority": "1",
        },
        {
            "object_type": "STOCK_CLASS",
            "id": "seriesA",
            "name": "Series A",
            "class_type": "PREFERRED",
            "default_id_prefix": "PA-",
            "initial_shares_authorized": "20000000",
            "votes_per_share": "1",
            "seniority": "2",
        },
        {
            "object_type": "STOCK_PLAN",
            "id": "plan",
            "plan_name": "Plan",
            "initial_shares_reserved": "10000000",
            "stock_class_ids": ["common"],
        },
    ]
    holders = [f"s{i}" for i in range(49)] + ["vc"]
    items += [
        {"object_type": "STAKEHOLDER", "id": h, "name": {"legal_name": h.upper()}, "stakeholder_type": "INDIVIDUAL"}
        for h in holders
    ]

    def issue(eid: str, sid: str, holder: str, qty: int, when: str, cls: str = "common", price: str = "0.01") -> None:
        items.append(
            {
                "object_type": "TX_STOCK_ISSUANCE",
                "id": eid,
                "date": when,
                "security_id": sid,
                "custom_id": sid,
                "stakeholder_id": holder,
                "security_law_exemptions": [],
                "stock_class_id": cls,
                "share_price": _money(price),
                "quantity": str(qty),
                "stock_legend_ids": [],
            }
        )

    for i in range(300):
        issue(f"i{i}", f"cs{i}", holders[i % 49], 10_000 + i, f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}")
    for i in range(100):
        items.append(
            {
                "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
                "id": f"g{i}",
                "date": "2021-03-01",
                "security_id": f"opt{i}",
                "custom_id": f"opt{i}",
                "stakeholder_id": holders[i % 49],
                "security_law_exemptions": [],
                "compensation_type": "OPTION",
                "quantity": "5000",
                "expiration_date": "2031-03-01",
                "termination_exercise_windows": [],
                "stock_plan_id": "plan",
                "exercise_price": _money("0.10"),
            }
        )
    for i in range(45):
        issue(f"ti{i}", f"cs-t{i}", holders[(i + 1) % 49], 10_000 + i, "2021-06-01")
        items.append(
            {
                "object_type": "TX_STOCK_TRANSFER",
                "id": f"t{i}",
                "date": "2021-06-01",
                "security_id": f"cs{i}",
                "quantity": str(10_000 + i),
                "resulting_security_ids": [f"cs-t{i}"],
            }
        )
    issue("ia", "pa-vc", "vc", 2_000_000, "2022-01-15", cls="seriesA", price="1.50")
    items.append(
        {
            "object_type": "FINANCING",
            "id": "series-a",
            "name": "Series A",
            "date": "2022-01-15",
            "issuance_ids": ["ia"],
            "x_roundpool_price_per_share": _money("1.50"),
        }
    )
    return items


def seed(owner_url: str, companies: int) -> tuple[uuid.UUID, str]:
    """The VC's owner user id and the VC slug."""
    suffix = uuid.uuid4().hex[:6]
    today = date.today()
    with psycopg.connect(owner_url) as conn:
        vc_id = conn.execute(
            "insert into tenants (slug, name, kind) values (%s, %s, 'vc') returning id",
            (f"bench-vc-{suffix}", "Bench VC"),
        ).fetchone()[0]
        user_id = conn.execute(
            "insert into users (email) values (%s) returning id", (f"bench-{suffix}@example.com",)
        ).fetchone()[0]
        conn.execute("insert into memberships (tenant_id, user_id, role) values (%s, %s, 'owner')", (vc_id, user_id))
        template = company_items(0)
        for n in range(companies):
            startup = conn.execute(
                "insert into tenants (slug, name, kind) values (%s, %s, 'startup') returning id",
                (f"bench-co-{suffix}-{n}", f"Company {n}"),
            ).fetchone()[0]
            conn.execute(
                "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, scopes, status)"
                " values (%s, %s, '{captable}', '{captable}', 'active')",
                (startup, vc_id),
            )
            with conn.cursor().copy(
                "copy captable_objects (tenant_id, id, object_type, effective_date, payload) from stdin"
            ) as copy:
                for item in template:
                    when = item.get("date") or item.get("effective_date")
                    copy.write_row((startup, item["id"], item["object_type"], when, Jsonb(item)))
            seq = conn.execute("select max(seq) from captable_objects where tenant_id = %s", (startup,)).fetchone()[0]
            conn.execute(
                "insert into stakeholder_links (tenant_id, stakeholder_id, vc_tenant_id) values (%s, 'vc', %s)",
                (startup, vc_id),
            )
            snap = compute_snapshot(startup, ledger_from_items(template), {vc_id: ["vc"]}, today, seq)
            conn.execute(
                "insert into captable_snapshots (tenant_id, as_of, ledger_seq, outstanding, fully_diluted,"
                " price_per_share, price_date, currency, positions, ownership_by_class, pools)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    startup,
                    snap.as_of,
                    snap.ledger_seq,
                    snap.outstanding,
                    snap.fully_diluted,
                    snap.price_per_share,
                    snap.price_date,
                    snap.currency,
                    Jsonb(snap.positions),
                    Jsonb(snap.ownership_by_class),
                    Jsonb(snap.pools),
                ),
            )
            for h in snap.holdings:
                conn.execute(
                    "insert into captable_holdings (tenant_id, vc_tenant_id, stakeholder_ids, ownership,"
                    " fully_diluted_ownership, invested, holding_value, value_by_stakeholder)"
                    " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        startup,
                        h.vc_tenant_id,
                        h.stakeholder_ids,
                        h.ownership,
                        h.fully_diluted_ownership,
                        h.invested,
                        h.holding_value,
                        Jsonb(h.value_by_stakeholder),
                    ),
                )
        conn.commit()
    return user_id, f"bench-vc-{suffix}"


async def measure(app_url: str, user_id: uuid.UUID, slug: str, runs: int, companies: int) -> dict[str, Any]:
    database = Database(app_url, pool_size=2)
    statements = [0]

    timings: dict[str, list[float]] = {}

    # Every statement the driver sends, on whichever path and connection (SQLAlchemy and compiled statements
    # through psycopg's cursor; the opening and the grant-read audit's side transaction on the libpq handle,
    # db/simple_query.py); COMMIT, a round trip of its own, is not counted.
    send = psycopg.AsyncCursor.execute
    send_simple = db.session.simple_query

    def timed(query: Any, started: float) -> None:
        text = query if isinstance(query, str) else repr(query)
        timings.setdefault(" ".join(text.split())[:90], []).append((time.perf_counter() - started) * 1000)

    async def counted_simple(driver: Any, query: str) -> Any:
        if query != "commit":
            statements[0] += 1
        started = time.perf_counter()
        try:
            return await send_simple(driver, query)
        finally:
            timed(query, started)

    async def counted(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        statements[0] += 1
        started = time.perf_counter()
        try:
            return await send(cursor, query, params, **kwargs)
        finally:
            timed(query, started)

    psycopg.AsyncCursor.execute = counted  # type: ignore[method-assign]
    db.session.simple_query = counted_simple

    # A token's claims (users inserted by the owner have subject = id, issuer ''), verified as serve verifies them.
    credentials = Credentials(Claims(issuer="", subject=str(user_id), email=None, name=None, tenant=slug), slug)
    schema = build_schema()
    freeze_start_up_heap()  # as `roundpool serve` does once started
    latencies, per_request = [], []
    try:
        for _ in range(runs + 3):  # 3 warm-up runs
            statements[0] = 0
            started = time.perf_counter()
            body = await execute(
                schema, database, credentials, GraphQLRequest(QUERY), request_id="bench", max_page_size=100
            )
            latencies.append((time.perf_counter() - started) * 1000)
            per_request.append(statements[0])
            assert "errors" not in body, body
            assert len(body["data"]["portfolio"]) == companies
    finally:
        psycopg.AsyncCursor.execute = send  # type: ignore[method-assign]
        db.session.simple_query = send_simple
        await database.dispose()
    latencies = latencies[3:]
    if os.environ.get("BENCH_PROFILE"):
        for text, values in sorted(timings.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"  {statistics.median(values):7.1f} ms  {text}")
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "companies": companies,
        "p50_ms": statistics.median(latencies),
        "p95_ms": quantiles[94],
        "statements": sorted(set(per_request[3:])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", default="20,200", help="comma-separated company counts")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    home = None
    if os.environ.get("DATABASE_URL"):
        app_url = os.environ["DATABASE_URL"]
        owner_url = os.environ.get("MIGRATION_DATABASE_URL", app_url)
        upgrade(owner_url)
    else:
        from db.embedded import start_embedded

        home = Path(tempfile.mkdtemp(prefix="rp-bench-"))
        server = start_embedded(home, cleanup="delete")
        bootstrap(server.url(SUPERUSER, "postgres"), database="roundpool_bench", owner_password="o", app_password="a")
        owner_url, app_url = server.url(OWNER_ROLE, "roundpool_bench"), server.url(APP_ROLE, "roundpool_bench")
        upgrade(owner_url)
    try:
        print(f"{'companies':>9} {'seed s':>7} {'p50 ms':>8} {'p95 ms':>8} {'SQL/request':>12}")
        for count in (int(c) for c in args.companies.split(",")):
            started = time.perf_counter()
            user_id, slug = seed(owner_url, count)
            seeded = time.perf_counter() - started
            result = asyncio.run(measure(app_url, user_id, slug, args.runs, count))
            statements = ",".join(str(s) for s in result["statements"])
            print(f"{count:>9} {seeded:>7.1f} {result['p50_ms']:>8.1f} {result['p95_ms']:>8.1f} {statements:>12}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MiB ({args.runs} runs per size, ~550 ledger rows and 50 stakeholders per company)")
    finally:
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
