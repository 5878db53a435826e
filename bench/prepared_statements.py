"""What psycopg's prepared statements save on a request's statements: `?prepare_threshold=none` (needed behind
PgBouncer 1.18 in transaction mode) against psycopg's default (prepare on the 5th execution).

    python bench/prepared_statements.py              # 5 alternating rounds of 3 s per mode, 1 and 8 clients
    python bench/prepared_statements.py --quick

Each transaction is what a request sends after opening: the context's set_config, then a statement, here the
audit page and the portfolio (the resolvers' statements, bench/serve.py's `page` and `portfolio`), on a throw-away
embedded server seeded like bench/serve.py. Prints transactions per second per mode and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serve

MODES: dict[str, int | None] = {"prepared (default)": 5, "prepare_threshold=none": None}


async def _rate(url: str, sql: str, caller: serve.Caller, threshold: int | None, clients: int, seconds: float) -> float:
    context = "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)"
    params: dict[str, Any] = {"tid": caller.tenant_id}
    done = 0
    deadline = time.perf_counter() + seconds

    async def one_client() -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(url, prepare_threshold=threshold) as conn:
            while time.perf_counter() < deadline:
                async with conn.transaction():
                    await conn.execute(context, (str(caller.user_id), str(caller.tenant_id)))
                    await (await conn.execute(sql, params)).fetchall()
                done += 1

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 s")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 2
    work = Path(tempfile.mkdtemp(prefix="rp-prepared-bench-"))
    database = None
    try:
        database = serve._database(work / "pg")
        callers = serve._seed(database, secrets.token_urlsafe(48), 10_000, 50)
        print(f"{'query':10}{'c':>4}  {'mode':24}{'tx/s':>9}   rounds")
        for name in ("page", "portfolio"):
            for clients in (int(c) for c in args.concurrency.split(",")):
                rates: dict[str, list[float]] = {mode: [] for mode in MODES}
                for round_ in range(args.rounds):  # alternate, so drift on a shared machine hits both
                    order = list(MODES) if round_ % 2 == 0 else list(MODES)[::-1]
                    for mode in order:
                        sql, caller = serve.QUERIES[name].sql, callers[name]
                        rate = asyncio.run(_rate(database.app_url, sql, caller, MODES[mode], clients, args.seconds))
                        rates[mode].append(rate)
                medians = {mode: statistics.median(values) for mode, values in rates.items()}
                for mode, values in rates.items():
                    shown = " ".join(f"{v:.0f}" for v in values)
                    print(f"{name:10}{clients:>4}  {mode:24}{medians[mode]:>9.0f}   {shown}")
                ratio = medians["prepare_threshold=none"] / medians["prepared (default)"]
                print(f"{name:10}{clients:>4}  {'none / prepared':24}{ratio:>9.2f}")
    finally:
        if database is not None:
            database.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
