"""Assembly benchmark: one 20-part legacy CUR assembly imported by 1, 2 and 4 `roundpool worker` processes.

    python bench/assembly.py                          # 20 parts, ~4 GB in total, from a local S3 server (moto)
    python bench/assembly.py --total-gb 0.5 --source local    # quicker; parts in a local folder source

The parts are the CUR-shaped rows of ``bench/ingest.py`` (109 columns, 300 accounts, exponent-notation amounts),
each generated with its own seed and cached under ``bench/out/``. ``--source s3`` uploads them to a moto S3
server on 127.0.0.1 (in this process, threaded) and configures it as the workers' cost source; ``--source
local`` serves the same files from a local folder source (no HTTP in the way: what the workers can do when
the bucket is not the bottleneck).

One embedded PostgreSQL and one cost store are shared by every worker, as in production. For each worker
count the workers are started (each its own `roundpool worker` subprocess, own home folder), the script
waits until all heartbeat, then queues the assembly through ``queue_assembly`` (the resolver of
``importCostAssembly``; a new assemblyId each run, so each run is a new delivery replacing the last) and
times from the queueing to the published assembly. Per-worker peak RSS is the worker's ``VmHWM``, read from
``/proc/<pid>/status`` before it is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import HEADER, OUT, generate

PARTS = 20
BYTES_PER_ROW = 1_250  # the wide shape, measured on bench/ingest.py's 2 M-row file
BUCKET = "bench-billing"
PREFIX = "cur"
REPORT = "bench"
RANGE = "20231101-20231201"
WORKER = [str(Path(sys.executable).with_name("roundpool")), "worker"]


def parts(total_gb: float) -> list[Path]:
    rows = max(1_000, int(total_gb * 1e9 / PARTS / BYTES_PER_ROW))
    return [generate(OUT / f"assembly-{rows}-{i:02d}.csv", rows, seed=100 + i) for i in range(PARTS)]


def manifest(assembly: str, keys: list[str]) -> bytes:
    columns = [{"category": c.split("/", 1)[0], "name": c.split("/", 1)[1], "type": "String"} for c in HEADER]
    return json.dumps(
        {
            "assemblyId": assembly,
            "reportName": REPORT,
            "bucket": BUCKET,
            "reportKeys": keys,
            "columns": columns,
            "compression": "NONE",
            "contentType": "text/csv",
            "billingPeriod": {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"},
        }
    ).encode()


class Delivery:
    """Where the parts and each run's manifest live: an S3 bucket on moto, or a local folder."""

    def __init__(self, kind: str, files: list[Path], scratch: Path, stack: ExitStack) -> None:
        self.kind, self.files = kind, files
        if kind == "s3":
            import boto3

            from tests.plugins.s3server import moto_s3

            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
            endpoint = stack.enter_context(moto_s3())
            self.client = boto3.client(
                "s3",
                endpoint_url=f"http://{endpoint}",
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            self.client.create_bucket(Bucket=BUCKET)
            secret = scratch / "s3-secret"
            secret.write_text("testing")
            self.source = {
                "name": "bench",
                "url": f"s3://{BUCKET}/{PREFIX}",
                "endpoint": f"http://{endpoint}",
                "region": "us-east-1",
                "access_key_id": "testing",
                "secret_access_key_file": str(secret),
            }
        else:
            self.root = scratch / "bucket"
            self.root.mkdir()
            self.source = {"name": "bench", "url": str(self.root)}

    def publish(self, assembly: str) -> str:
        """Parts (uploaded or linked once) and the manifest of `assembly`; returns the manifest's location."""
        folder = f"{PREFIX}/{REPORT}/{RANGE}"
        keys = [f"{folder}/{assembly}/{REPORT}-{i + 1}.csv" for i in range(len(self.files))]
        if self.kind == "s3":
            from boto3.s3.transfer import TransferConfig

            config = TransferConfig(multipart_chunksize=64 << 20, multipart_threshold=64 << 20)
            for key, path in zip(keys, self.files, strict=True):
                self.client.upload_file(str(path), BUCKET, key, Config=config)
            self.client.put_object(Bucket=BUCKET, Key=f"{folder}/{REPORT}-Manifest.json", Body=manifest(assembly, keys))
            return f"s3://{BUCKET}/{folder}/{REPORT}-Manifest.json"
        for key, path in zip(keys, self.files, strict=True):
            target = self.root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)  # the same bytes, no copy
            except OSError:
                shutil.copy(path, target)
        (self.root / folder / f"{REPORT}-Manifest.json").write_bytes(manifest(assembly, keys))
        return str(self.root / folder / f"{REPORT}-Manifest.json")


def seed(owner_url: str) -> tuple[str, str, str]:
    import psycopg

    suffix = uuid.uuid4().hex[:6]
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
    return str(user), f"bench-msp-{suffix}", str(operator)


async def queue(app_url: str, user_id: str, operator: str, location: str, sources: Any) -> str:
    from db.session import Database
    from resolvers.common.principals import Member
    from resolvers.common.request import RequestRuntime, open_request
    from resolvers.costs.assemblies import queue_assembly

    database = Database(app_url, pool_size=2, statement_timeout_ms=60_000)
    try:
        runtime = RequestRuntime(database, 10, cost_sources=sources)
        async with open_request(runtime, Member(uuid.UUID(user_id), operator), request_id="bench") as ctx:
            record = await queue_assembly(ctx, location)
        return str(record.id)
    finally:
        await database.dispose()


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_with(workers: int, env: dict[str, str], scratch: Path, owner_url: str, start: Any) -> dict[str, Any]:
    import psycopg

    procs = []
    for n in range(workers):
        home = scratch / f"worker-{workers}-{n}"
        home.mkdir()
        procs.append(
            subprocess.Popen(
                WORKER,
                env={**env, "ROUNDPOOL_HOME": str(home)},
                cwd=Path(__file__).parents[1],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        with psycopg.connect(owner_url, autocommit=True) as conn:
            deadline = time.monotonic() + 120
            while (
                conn.execute(
                    "select count(*) from procrastinate_workers where last_heartbeat > now() - interval '30 seconds'"
                ).fetchone()[0]
                < workers
            ):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(
                        "workers did not start: " + "".join(p.stderr.read() for p in procs if p.poll() is not None)
                    )
                time.sleep(0.2)
            started = time.perf_counter()
            assembly = start()
            while True:
                status, error = conn.execute(
                    "select status, error from cost_assemblies where id = %s", (assembly,)
                ).fetchone()
                if status not in ("queued", "publishing"):
                    break
                time.sleep(0.1)
            seconds = time.perf_counter() - started
            rows, size = conn.execute(
                "select sum(rows), sum(bytes) from cost_imports where assembly_id = %s", (assembly,)
            ).fetchone()
        rss = [peak_rss(p.pid) for p in procs]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    if status != "succeeded":
        raise RuntimeError(f"the assembly ended {status}: {error}")
    return {"workers": workers, "seconds": seconds, "rows": int(rows), "bytes": int(size), "peak_rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total-gb", type=float, default=4.0, help="size of the 20 parts together")
    parser.add_argument("--source", choices=("s3", "local"), default="s3")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    from cost.locations import CostSources, source_from_config
    from db.bootstrap import APP_ROLE, OWNER_ROLE, SUPERUSER, bootstrap
    from db.embedded import start_embedded
    from db.migrate import upgrade

    started = time.perf_counter()
    files = parts(args.total_gb)
    total = sum(f.stat().st_size for f in files)
    print(
        f"{PARTS} parts, {total / 1e9:.2f} GB in total ({time.perf_counter() - started:.0f} s to generate or "
        f"find); source: {args.source}"
    )
    scratch = Path(tempfile.mkdtemp(prefix="rp-bench-assembly-", dir=OUT))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        server = start_embedded(scratch / "pg", cleanup="delete")
        bootstrap(server.url(SUPERUSER, "postgres"), database="roundpool_bench", owner_password="o", app_password="a")
        owner_url, app_url = server.url(OWNER_ROLE, "roundpool_bench"), server.url(APP_ROLE, "roundpool_bench")
        upgrade(owner_url)
        user_id, operator, _ = seed(owner_url)
        delivery = Delivery(args.source, files, scratch, stack)
        sources = CostSources(
            (
                source_from_config(
                    **{k: (Path(v) if k == "secret_access_key_file" else v) for k, v in delivery.source.items()}
                ),
            )
        )
        env = {
            **os.environ,
            "DATABASE_URL": app_url,
            "MIGRATION_DATABASE_URL": owner_url,
            "ROUNDPOOL_COST_STORE": str(scratch / "store"),
            "ROUNDPOOL_COST_SOURCES": json.dumps([delivery.source]),
            "ROUNDPOOL_JWT_SECRET": "bench-secret-" + "x" * 32,
            "ROUNDPOOL_JOB_HEARTBEAT_S": "2",
            "ROUNDPOOL_JOB_STALLED_AFTER_S": "30",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        results = []
        for workers in (int(w) for w in args.workers.split(",")):
            assembly_key = f"bench-{workers}-{uuid.uuid4().hex[:8]}"
            location = delivery.publish(assembly_key)

            def start(location: str = location) -> str:
                return asyncio.run(queue(app_url, user_id, operator, location, sources))

            result = run_with(workers, env, scratch, owner_url, start)
            results.append(result)
            speed = results[0]["seconds"] / result["seconds"]
            rss = ", ".join(f"{r / 2**20:.0f}" for r in result["peak_rss"])
            print(
                f"{workers} worker(s): {result['seconds']:.1f} s wall, {result['rows']:,} rows, "
                f"{result['bytes'] / 1e6 / result['seconds']:.0f} MB/s, speed-up {speed:.2f}x, "
                f"peak RSS per worker [{rss}] MiB"
            )
        print(json.dumps(results))


if __name__ == "__main__":
    main()
