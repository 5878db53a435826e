"""Query benchmark: service × account totals for one tenant-month, roundpool vs DuckDB on the same Parquet.

    python bench/cost_query.py --rows 5000000

Builds (once, cached under bench/out/) a store holding a 5 M-row month imported through
``cost.imports.import_file`` from a generated legacy CUR (only the columns the mapping reads), then, each in
its own subprocess, runs ``cost.queries.aggregate(group_by=[SERVICE, ACCOUNT], metrics=[BILLED, EFFECTIVE])``
and DuckDB's ``SELECT ServiceName, SubAccountId, sum(BilledCost), sum(EffectiveCost) … GROUP BY 1, 2`` over
exactly the files of the tenant's accounts (DuckDB gets the file list; it does no pruning work). Each child
runs the query ``--repeat`` times and reports the best wall time and its peak RSS. Two tenants are measured:
one owning every account of the month (all 5 M rows) and one owning 30 of the 300 accounts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:
    from cost.scope import AccountScope
    from cost.store import CostStore

OUT = Path(__file__).resolve().parent / "out"
BENCH_OPERATOR = UUID(int=1)  # the store of one (made-up) operator: stores are per operator
COLUMNS = [
    "bill/PayerAccountId", "bill/BillingPeriodStartDate", "lineItem/UsageAccountId", "lineItem/LineItemType",
    "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageType",
    "lineItem/Operation", "lineItem/ResourceId", "lineItem/UsageAmount", "lineItem/CurrencyCode",
    "lineItem/UnblendedCost", "product/ProductName", "product/regionCode", "product/sku", "pricing/unit",
    "pricing/publicOnDemandCost", "reservation/ReservationARN", "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanEffectiveCost", "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment", "resourceTags/user:Team", "resourceTags/user:Environment",
]  # fmt: skip


def _scope(accounts: list[str]) -> AccountScope:
    from cost.scope import scope_from_database_rows

    return scope_from_database_rows([{"operator_id": BENCH_OPERATOR, "account_id": a} for a in accounts])


def _peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM (ru_maxrss would carry the parent's peak across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(tool: str, store_root: str, accounts_json: str, repeat: int) -> None:
    from cost.store import CostStore

    accounts = json.loads(accounts_json)
    store = CostStore(store_root).for_operator(BENCH_OPERATOR)  # the store build() wrote, as the server reads it
    best = float("inf")
    groups = 0
    if tool == "roundpool":
        from cost.queries import Dimension, Metric, aggregate

        scope = _scope(accounts)
        for _ in range(repeat):
            started = time.perf_counter()
            rows = aggregate(
                store,
                scope,
                period="2023-11",
                group_by=[Dimension.SERVICE, Dimension.ACCOUNT],
                metrics=[Metric.BILLED, Metric.EFFECTIVE],
            )
            best = min(best, time.perf_counter() - started)
            groups = len(rows)
    else:
        import duckdb

        files = [f.path for f in store.files(accounts=accounts, periods=["2023-11"])]
        connection = duckdb.connect()
        query = ("SELECT ServiceName, SubAccountId, sum(BilledCost), sum(EffectiveCost) "
                 "FROM read_parquet($files) GROUP BY 1, 2")  # fmt: skip
        for _ in range(repeat):
            started = time.perf_counter()
            rows = connection.execute(query, {"files": files}).fetchall()
            best = min(best, time.perf_counter() - started)
            groups = len(rows)
    peak = _peak_rss()
    print(json.dumps({"tool": tool, "seconds": best, "peak_rss": peak, "groups": groups}))


def build(rows: int) -> tuple[Path, list[str]]:
    from ingest import generate

    from cost.imports import import_file
    from cost.store import CostStore

    root = OUT / f"query-store-{rows}"
    store = CostStore(str(root)).for_operator(BENCH_OPERATOR)
    if not store.catalog()["imports"]:
        csv_path = generate(OUT / f"cur-narrow-{rows}.csv", rows, columns=COLUMNS)
        started = time.perf_counter()
        result = import_file(str(csv_path), store)
        print(f"built store: {result.rows:,} rows in {time.perf_counter() - started:.1f} s")
    accounts = sorted({f.account for f in store.files(accounts=_all_accounts(store), periods=["2023-11"])})
    return root, accounts


def _all_accounts(store: CostStore) -> set[str]:
    return {key.split("/", 1)[1] for key in store.catalog()["partitions"]}


def run(tool: str, root: Path, accounts: list[str], repeat: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", tool, str(root), json.dumps(accounts), str(repeat)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"{tool} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, root, accounts, repeat = args.child
        _child(tool, root, accounts, int(repeat))
        return
    root, accounts = build(args.rows)
    for label, tenant in (("all 300 accounts", accounts), ("30 accounts", accounts[::10])):
        results = {tool: run(tool, root, tenant, args.repeat) for tool in ("roundpool", "duckdb")}
        print(f"tenant with {label}:")
        for tool, r in results.items():
            print(f"  {tool:<10} {r['seconds']:>7.3f} s  peak RSS {r['peak_rss'] / 2**20:>6.0f} MiB  "
                  f"{r['groups']} groups")  # fmt: skip
        print(f"  ratio roundpool/duckdb: {results['roundpool']['seconds'] / results['duckdb']['seconds']:.2f}")


if __name__ == "__main__":
    main()
