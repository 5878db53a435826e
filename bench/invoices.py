"""Invoice-close benchmark: close October 2026 for 50 customer tenants billed from one payer's 200 accounts.

    python bench/invoices.py --rows 2000000        # CSV cached under bench/out/

Generates a legacy CUR (bench/ingest.py's generator: Usage, RI/SP, Tax and Credit lines, amounts often in
exponent notation; its 40 base columns, not the filler and tag columns) for 200 accounts in 2026-10, imports
it, creates an operator with a billing admin, 50 customers (4 accounts each), one pricing plan (7 % markup on
cost, 2 % discount on EC2) and 10 % tax per customer, then times ``roundpool invoices close --period 2026-10
--all`` — the CLI's own function, in a child process that reports its wall time and peak RSS. Finally every
invoice total is checked against an independent recomputation from the raw CSV (Python decimals, the
CUDOS amortised-cost formula, one rounding per line as the invoice shows it).

DATABASE_URL (+ MIGRATION_DATABASE_URL) selects a server, else an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import _BASE_HEADER, OUT, _peak_rss, _pool, chunk

PERIOD = "2026-10"
ACCOUNTS, TENANTS = 200, 50
MARKUP, EC2_DISCOUNT, TAX = Decimal(7), Decimal(2), Decimal(10)
EC2 = "Amazon Elastic Compute Cloud"


def generate(path: Path, rows: int, seed: int = 11, chunk_rows: int = 200_000) -> tuple[Path, list[str]]:
    rng = np.random.default_rng(seed)
    accounts = [f"{rng.integers(10**11, 10**12)}" for _ in range(ACCOUNTS)]
    if path.exists():
        return path, accounts
    path.parent.mkdir(parents=True, exist_ok=True)
    dated = (
        "identity/TimeInterval",
        "bill/BillingPeriodStartDate",
        "bill/BillingPeriodEndDate",
        "lineItem/UsageStartDate",
        "lineItem/UsageEndDate",
    )

    def shifted(table: pa.Table) -> pa.Table:
        for name in dated:
            column = pc.replace_substring(table.column(name), "2023-12-01", "2026-11-01")
            column = pc.replace_substring(column, "2023-11", "2026-10")
            table = table.set_column(table.column_names.index(name), name, column)
        return table.select(_BASE_HEADER)

    tmp = path.with_suffix(".tmp")
    pool = _pool(accounts)
    with tmp.open("wb") as sink:
        sink.write((",".join(_BASE_HEADER) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        first = shifted(chunk(rng, 1, pool, 0))
        with pacsv.CSVWriter(sink, first.schema, write_options=options) as writer:
            done = 0
            while done < rows:
                n = min(chunk_rows, rows - done)
                writer.write_table(shifted(chunk(rng, n, pool, done)))
                done += n
    tmp.replace(path)
    return path, accounts


def expected_totals(path: Path, tenant_of: dict[str, int]) -> dict[int, Decimal]:
    """Independent of the engine: amortised cost per row, markup/discount, lines per (kind, service), rounding."""
    lines: dict[int, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))

    def d(value: str) -> Decimal:
        return Decimal(value) if value else Decimal(0)

    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            tenant = tenant_of.get(row["lineItem/UsageAccountId"])
            if tenant is None:
                continue
            kind, service = row["lineItem/LineItemType"], row["product/ProductName"]
            unblended = d(row["lineItem/UnblendedCost"])
            if kind == "SavingsPlanCoveredUsage":
                cost = d(row["savingsPlan/SavingsPlanEffectiveCost"])
            elif kind == "DiscountedUsage":
                cost = d(row["reservation/EffectiveCost"])
            elif kind == "RIFee":
                cost = d(row["reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"]) + d(
                    row["reservation/UnusedRecurringFee"]
                )
            elif kind == "SavingsPlanRecurringFee":
                cost = d(row["savingsPlan/TotalCommitmentToDate"]) - d(row["savingsPlan/UsedCommitment"])
            elif kind == "SavingsPlanNegation":
                cost = Decimal(0)
            else:
                cost = unblended
            if kind == "Tax":
                lines[tenant][("tax", service)] += cost
            elif kind == "Credit":
                lines[tenant][("credit", service)] += cost
            else:
                percent = -EC2_DISCOUNT if service == EC2 else MARKUP
                lines[tenant][("usage", service)] += cost * (100 + percent) / 100
    cent = Decimal("0.01")
    totals = {}
    for tenant, by_line in lines.items():
        subtotal = sum((v.quantize(cent, ROUND_HALF_UP) for v in by_line.values()), Decimal(0))
        totals[tenant] = subtotal + (subtotal * TAX / 100).quantize(cent, ROUND_HALF_UP)
    return totals


def seed(owner_url: str, accounts: list[str]) -> tuple[str, str, list[str]]:
    """Operator, billing admin, 50 customers with a plan and 4 accounts each; returns (user id, operator slug,
    customer slugs in tenant-index order)."""
    import psycopg
    from psycopg.types.json import Jsonb

    from cost.billing import PlanVersion, Rule
    from cost.billing.definitions import plan_to_json

    suffix = uuid.uuid4().hex[:6]
    plan = PlanVersion(
        id="bench", rules=(Rule("GLOBAL", "MARKUP", MARKUP), Rule("SERVICE", "DISCOUNT", EC2_DISCOUNT, EC2))
    )
    with psycopg.connect(owner_url) as conn, conn.transaction():
        operator = conn.execute(
            "insert into tenants (slug, name, kind) values (%s, 'Bench MSP', 'operator') returning id",
            (f"bench-msp-{suffix}",),
        ).fetchone()[0]
        user = conn.execute(
            "insert into users (email) values (%s) returning id", (f"billing-{suffix}@example.com",)
        ).fetchone()[0]
        conn.execute(
            "insert into memberships (tenant_id, user_id, role) values (%s, %s, 'billing_admin')", (operator, user)
        )
        plan_id = conn.execute(
            "insert into pricing_plans (tenant_id, name) values (%s, 'Standard') returning id", (operator,)
        ).fetchone()[0]
        conn.execute(
            "insert into pricing_plan_versions (tenant_id, plan_id, version, valid_from, definition)"
            " values (%s, %s, 1, '2026-01', %s)",
            (operator, plan_id, Jsonb(plan_to_json(plan))),
        )
        slugs, ids = [], []
        for n in range(TENANTS):
            slug = f"bench-cust-{suffix}-{n:02d}"
            tenant = conn.execute(
                "insert into tenants (slug, name, kind, operator_id) values (%s, %s, 'startup', %s) returning id",
                (slug, f"Customer {n}", operator),
            ).fetchone()[0]
            conn.execute(
                "insert into customer_billing (tenant_id, operator_id, plan_id, tax_rate_percent, legal_name)"
                " values (%s, %s, %s, %s, %s)",
                (tenant, operator, plan_id, TAX, f"Customer {n} Ltd"),
            )
            slugs.append(slug)
            ids.append(tenant)
        for i, account in enumerate(accounts):
            conn.execute("delete from cloud_account_assignments where account_id = %s", (account,))
            conn.execute("delete from cloud_accounts where account_id = %s", (account,))
            conn.execute(
                "insert into cloud_accounts (tenant_id, account_id) values (%s, %s)", (ids[i % TENANTS], account)
            )
    return str(user), f"bench-msp-{suffix}", slugs


def child_close(app_url: str, store_root: str, user_id: str, operator: str) -> None:
    from cli.invoices import close_invoices
    from cost import CostStore
    from db.session import Database
    from resolvers.common.principals import Member

    async def run() -> dict[str, object]:
        database = Database(app_url, pool_size=2, statement_timeout_ms=60_000)
        try:
            return await close_invoices(
                database, CostStore(store_root), Member(uuid.UUID(user_id), operator), PERIOD, None
            )
        finally:
            await database.dispose()

    started = time.perf_counter()
    summary = asyncio.run(run())
    summary["wall_seconds"] = time.perf_counter() - started
    summary["peak_rss"] = _peak_rss()
    print(json.dumps(summary, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--child-close", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_close:
        child_close(*args.child_close)
        return
    from db.bootstrap import APP_ROLE, OWNER_ROLE, SUPERUSER, bootstrap
    from db.migrate import upgrade

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
    store_root = tempfile.mkdtemp(prefix="rp-bench-store-")
    try:
        from cost import CostStore, import_file

        started = time.perf_counter()
        path, accounts = generate(OUT / f"cur-invoices-{args.rows}.csv", args.rows)
        print(f"CSV {path.name}: {path.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - started:.1f} s)")
        user_id, operator, slugs = seed(owner_url, accounts)
        import psycopg

        with psycopg.connect(owner_url) as conn:  # the operator's own store (one per operator)
            operator_id = conn.execute("select id from tenants where slug = %s", (operator,)).fetchone()[0]
        started = time.perf_counter()
        imported = import_file(str(path), CostStore(store_root).for_operator(operator_id))
        print(f"import: {imported.rows} rows in {time.perf_counter() - started:.1f} s")
        done = subprocess.run(
            [sys.executable, __file__, "--child-close", app_url, store_root, user_id, operator],
            check=True,
            capture_output=True,
            text=True,
        )
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"close --all: {summary['closed']}/{summary['total']} closed, {summary['failed']} failed in "
            f"{summary['wall_seconds']:.1f} s (close loop {summary['seconds']:.1f} s), "
            f"peak RSS {summary['peak_rss'] / 2**20:.0f} MiB"
        )
        started = time.perf_counter()
        expected = expected_totals(path, {a: i % TENANTS for i, a in enumerate(accounts)})
        mismatches = []
        for index, slug in enumerate(slugs):
            got = summary["invoices"].get(slug)
            want = expected.get(index)
            if (got is None) != (want is None) or (got is not None and Decimal(got["total"]) != want):
                mismatches.append((slug, got and got["total"], want))
        print(
            f"independent check ({time.perf_counter() - started:.1f} s): "
            f"{len(slugs) - len(mismatches)}/{len(slugs)} totals equal"
        )
        for mismatch in mismatches[:10]:
            print(f"  MISMATCH {mismatch}")
        if mismatches or summary["failed"]:
            sys.exit(1)
    finally:
        shutil.rmtree(store_root, ignore_errors=True)
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
