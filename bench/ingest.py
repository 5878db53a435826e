"""Import benchmark: roundpool vs polars vs DuckDB on the same generated legacy CUR CSV.

    python bench/ingest.py --rows 2000000          # ~2.5 GB file, cached under bench/out/
    python bench/ingest.py --rows 1600000 --shape narrow   # 47 columns (also: --shape both)
    python bench/ingest.py --rows 800000 --shape both --tools roundpool,polars --repeat 3

The wide file is CUR-shaped: 109 columns (the real CUR's bill/lineItem/product/pricing/reservation/savingsPlan
columns plus sparse ``resourceTags/*``), 300 accounts with a skewed (Zipf) row distribution, Usage,
DiscountedUsage, RIFee, SavingsPlanCoveredUsage, SavingsPlanNegation, SavingsPlanRecurringFee, Tax and Credit
lines, and amounts printed by Arrow's shortest formatting, i.e. very often in exponent notation (``1.81e-8``,
upper-cased in half the chunks). Every value is quoted, as in AWS's files. The narrow file (``--shape narrow``)
has the 47 columns most often filled in a real CUR (:data:`NARROW`): no reservation/savings-plan amounts and
no tags, so fixed per-row costs weigh more against the parse.

Each tool runs in its own subprocess after one warm-up read of the file (so all three read from the page
cache) and an ``os.sync()``, the tools taking turns to go first from one ``--repeat`` to the next; the child
reports wall seconds, CPU seconds (``cores`` = CPU / wall) and its own peak RSS (``VmHWM``
from ``/proc/self/status``).
roundpool does strictly more work than the other two: it hashes the file (BLAKE3, its identity in the
catalog), normalises, parses every amount exactly to decimal128(38, 18), computes the amortised cost, and
writes a Hive-partitioned store (one file per account); polars and DuckDB convert the CSV to one Parquet
file with inferred (float) types.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

# Before pyarrow loads: importing cli configures jemalloc in this process's environment, as in every roundpool
# process (cli.allocator), and the children inherit it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cli  # noqa: F401, I001

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

_BASE_HEADER = [
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/InvoiceId",
    "bill/InvoicingEntity",
    "bill/BillingEntity",
    "bill/BillType",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/AvailabilityZone",
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/NormalizationFactor",
    "lineItem/NormalizedUsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/BlendedRate",
    "lineItem/BlendedCost",
    "lineItem/LineItemDescription",
    "lineItem/TaxType",
    "lineItem/LegalEntity",
    "product/ProductName",
    "product/region",
    "product/regionCode",
    "product/sku",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "pricing/term",
    "pricing/unit",
    "reservation/ReservationARN",
    "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
]
FILLER = [
    "product/availability",
    "product/durability",
    "product/eventType",
    "product/feeCode",
    "product/feeDescription",
    "product/fromLocation",
    "product/fromLocationType",
    "product/fromRegionCode",
    "product/group",
    "product/groupDescription",
    "product/location",
    "product/locationType",
    "product/messageDeliveryFrequency",
    "product/messageDeliveryOrder",
    "product/operation",
    "product/overhead",
    "product/productFamily",
    "product/productType",
    "product/queueType",
    "product/servicecode",
    "product/servicename",
    "product/storageClass",
    "product/storageMedia",
    "product/toLocation",
    "product/toLocationType",
    "product/toRegionCode",
    "product/transferType",
    "product/usagetype",
    "product/version",
    "product/volumeType",
    "product/instanceType",
    "product/vcpu",
    "product/memory",
    "pricing/RateCode",
    "pricing/RateId",
    "pricing/currency",
    "reservation/AmortizedUpfrontCostForUsage",
    "reservation/AmortizedUpfrontFeeForBillingPeriod",
    "reservation/EndTime",
    "reservation/ModificationStatus",
    "reservation/NormalizedUnitsPerReservation",
    "reservation/NumberOfReservations",
    "reservation/RecurringFeeForUsage",
    "reservation/StartTime",
    "reservation/SubscriptionId",
    "reservation/TotalReservedNormalizedUnits",
    "reservation/TotalReservedUnits",
    "reservation/UnitsPerReservation",
    "reservation/UnusedNormalizedUnitQuantity",
    "reservation/UnusedQuantity",
    "reservation/UpfrontValue",
    "savingsPlan/SavingsPlanRate",
    "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod",
    "savingsPlan/RecurringCommitmentForBillingPeriod",
]
TAGS = [
    "resourceTags/user:Team",
    "resourceTags/user:Environment",
    "resourceTags/user:CostCenter",
    "resourceTags/user:Project",
    "resourceTags/user:Owner",
    "resourceTags/aws:createdBy",
    "resourceTags/user:Application",
    "resourceTags/user:Name",
    "resourceTags/aws:cloudformation:stack-name",
    "resourceTags/user:Customer",
]
HEADER = _BASE_HEADER + FILLER + TAGS
# The narrow shape: the 47 most populated columns of the real sample (../shared/data/cur/
# legacy-cur-anonymized-sample.csv, non-empty cells counted, ties in header order), in its header order.
NARROW = [
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/InvoicingEntity",
    "bill/BillingEntity",
    "bill/BillType",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/BlendedRate",
    "lineItem/BlendedCost",
    "lineItem/LineItemDescription",
    "lineItem/LegalEntity",
    "product/ProductName",
    "product/fromLocation",
    "product/fromLocationType",
    "product/group",
    "product/groupDescription",
    "product/location",
    "product/locationType",
    "product/productFamily",
    "product/region",
    "product/regionCode",
    "product/servicecode",
    "product/servicename",
    "product/sku",
    "product/toLocation",
    "product/toLocationType",
    "product/usagetype",
    "pricing/RateCode",
    "pricing/RateId",
    "pricing/currency",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "pricing/term",
    "pricing/unit",
    "reservation/SubscriptionId",
]
SHAPES = {"wide": HEADER, "narrow": NARROW}
SERVICES = [
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "BoxUsage:m5.large", "RunInstances", "Hrs"),
    ("AmazonS3", "Amazon Simple Storage Service", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo"),
    (
        "AmazonRDS",
        "Amazon Relational Database Service",
        "InstanceUsage:db.r5.large",
        "CreateDBInstance",
        "Hrs",
    ),
    ("AWSLambda", "AWS Lambda", "Request", "Invoke", "Requests"),
    ("AmazonDynamoDB", "Amazon DynamoDB", "ReadRequestUnits", "GetItem", "ReadRequestUnits"),
    ("AmazonCloudWatch", "AmazonCloudWatch", "CW:Requests", "GetMetricData", "Requests"),
    ("AmazonSQS", "Amazon Simple Queue Service", "Requests-Tier1", "SendMessage", "Requests"),
    ("AWSDataTransfer", "AWS Data Transfer", "DataTransfer-Out-Bytes", "RunInstances", "GB"),
    (
        "AmazonEKS",
        "Amazon Elastic Container Service for Kubernetes",
        "AmazonEKS-Hours:perCluster",
        "CreateOperation",
        "Hrs",
    ),
    ("AmazonES", "Amazon OpenSearch Service", "ESInstance:r5.large", "ESDomain", "Hrs"),
    ("AWSELB", "Elastic Load Balancing", "LoadBalancerUsage", "LoadBalancing:Application", "Hrs"),
    ("AmazonVPC", "Amazon Virtual Private Cloud", "NatGateway-Hours", "NatGateway", "Hrs"),
]
REGIONS = [
    ("us-east-1", "US East (N. Virginia)"),
    ("us-west-2", "US West (Oregon)"),
    ("eu-west-1", "EU (Ireland)"),
    ("eu-central-1", "EU (Frankfurt)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ca-central-1", "Canada (Central)"),
    ("sa-east-1", "South America (Sao Paulo)"),
]
LINE_TYPES = [
    "Usage",
    "DiscountedUsage",
    "RIFee",
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanRecurringFee",
    "Tax",
    "Credit",
]
LINE_P = [0.78, 0.06, 0.01, 0.08, 0.04, 0.01, 0.01, 0.01]


def _pool(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _money(rng: np.random.Generator, n: int, scale: float) -> pa.Array:
    # ≤ 10 fractional digits; Arrow prints small values in exponent notation ("1.81e-8"); upper-case some.
    raw = np.round(rng.lognormal(mean=np.log(scale), sigma=2.5, size=n), 10)
    text = pc.cast(pa.array(raw), pa.string())
    return pc.utf8_upper(text) if rng.random() < 0.5 else text


def chunk(rng: np.random.Generator, n: int, accounts: pa.Array, start_row: int) -> pa.Table:
    svc = rng.integers(0, len(SERVICES), n)
    reg = rng.integers(0, len(REGIONS), n)
    acct = pc.take(accounts, pa.array(rng.zipf(1.3, n) % len(accounts)))
    kind = rng.choice(len(LINE_TYPES), n, p=LINE_P)
    hour = rng.integers(0, 720, n)
    hours = _pool([f"2023-11-{1 + h // 24:02d}T{h % 24:02d}:00:00Z" for h in range(720)])
    hours_end = _pool(
        [
            f"2023-11-{1 + (h + 1) // 24:02d}T{(h + 1) % 24:02d}:00:00Z" if h < 719 else "2023-12-01T00:00:00Z"
            for h in range(720)
        ]
    )
    empty = pa.nulls(n, pa.string())

    def pick(values: list[str], index: np.ndarray) -> pa.Array:
        return pc.take(_pool(values), pa.array(index))

    def only(kinds: tuple[str, ...], values: pa.Array) -> pa.Array:
        mask = np.isin(kind, [LINE_TYPES.index(k) for k in kinds])
        return pc.if_else(pa.array(mask), values, empty)

    unblended = _money(rng, n, 0.01)
    neg = pc.binary_join_element_wise("-", unblended, "")
    line_type = pick(LINE_TYPES, kind)
    unblended = pc.if_else(pa.array(kind == LINE_TYPES.index("SavingsPlanNegation")), neg, unblended)
    ids = np.arange(start_row, start_row + n)
    cols: dict[str, pa.Array] = {
        "identity/LineItemId": pc.cast(pa.array(ids * 2654435761 % (1 << 61)), pa.string()),
        "identity/TimeInterval": pc.binary_join_element_wise(
            pc.take(hours, pa.array(hour)), pc.take(hours_end, pa.array(hour)), "/"
        ),
        "bill/InvoiceId": pa.array(np.full(n, "EUINGB23-123456")),
        "bill/InvoicingEntity": pa.array(np.full(n, "Amazon Web Services, Inc.")),
        "bill/BillingEntity": pa.array(np.full(n, "AWS")),
        "bill/BillType": pa.array(np.full(n, "Anniversary")),
        "bill/PayerAccountId": pa.array(np.full(n, "999988887777")),
        "bill/BillingPeriodStartDate": pa.array(np.full(n, "2023-11-01T00:00:00.000Z")),
        "bill/BillingPeriodEndDate": pa.array(np.full(n, "2023-12-01T00:00:00.000Z")),
        "lineItem/UsageAccountId": acct,
        "lineItem/LineItemType": line_type,
        "lineItem/UsageStartDate": pc.take(hours, pa.array(hour)),
        "lineItem/UsageEndDate": pc.take(hours_end, pa.array(hour)),
        "lineItem/ProductCode": pick([s[0] for s in SERVICES], svc),
        "lineItem/UsageType": pick([s[2] for s in SERVICES], svc),
        "lineItem/Operation": pick([s[3] for s in SERVICES], svc),
        "lineItem/AvailabilityZone": pick([r[0] + "a" for r in REGIONS], reg),
        "lineItem/ResourceId": pc.binary_join_element_wise(
            "arn:aws:ec2:us-east-1:",
            acct,
            ":instance/i-0",
            pc.cast(pa.array(rng.integers(0, 5000, n)), pa.string()),
            "",
        ),
        "lineItem/UsageAmount": _money(rng, n, 1.0),
        "lineItem/NormalizationFactor": pick(["", "4", "8"], rng.integers(0, 3, n)),
        "lineItem/NormalizedUsageAmount": _money(rng, n, 2.0),
        "lineItem/CurrencyCode": pa.array(np.full(n, "USD")),
        "lineItem/UnblendedRate": _money(rng, n, 0.1),
        "lineItem/UnblendedCost": unblended,
        "lineItem/BlendedRate": _money(rng, n, 0.1),
        "lineItem/BlendedCost": unblended,
        "lineItem/LineItemDescription": pc.binary_join_element_wise(
            "$0.096 per On Demand Linux ", pick([s[2] for s in SERVICES], svc), " Instance Hour, metered", ""
        ),
        "lineItem/TaxType": only(("Tax",), pa.array(np.full(n, "VAT"))),
        "lineItem/LegalEntity": pa.array(np.full(n, "Amazon Web Services, Inc.")),
        "product/ProductName": pick([s[1] for s in SERVICES], svc),
        "product/region": pick([r[0] for r in REGIONS], reg),
        "product/regionCode": pick([r[0] for r in REGIONS], reg),
        "product/sku": pick([f"SKU{i:012d}" for i in range(400)], rng.integers(0, 400, n)),
        "pricing/publicOnDemandCost": _money(rng, n, 0.012),
        "pricing/publicOnDemandRate": _money(rng, n, 0.1),
        "pricing/term": pick(["OnDemand", "Reserved", ""], rng.integers(0, 3, n)),
        "pricing/unit": pick([s[4] for s in SERVICES], svc),
        "reservation/ReservationARN": only(
            ("DiscountedUsage", "RIFee"),
            pc.binary_join_element_wise(
                "arn:aws:ec2:us-east-1:999988887777:reserved-instances/",
                pick([f"ri-{i}" for i in range(40)], rng.integers(0, 40, n)),
                "",
            ),
        ),
        "reservation/EffectiveCost": only(("DiscountedUsage",), _money(rng, n, 0.008)),
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": only(("RIFee",), _money(rng, n, 3.0)),
        "reservation/UnusedRecurringFee": only(("RIFee",), _money(rng, n, 1.0)),
        "savingsPlan/SavingsPlanARN": only(
            ("SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee"),
            pa.array(np.full(n, "arn:aws:savingsplans::999988887777:savingsplan/1f2e3d4c-aaaa-bbbb")),
        ),
        "savingsPlan/SavingsPlanEffectiveCost": only(("SavingsPlanCoveredUsage",), _money(rng, n, 0.007)),
        "savingsPlan/TotalCommitmentToDate": only(("SavingsPlanRecurringFee",), _money(rng, n, 10.0)),
        "savingsPlan/UsedCommitment": only(("SavingsPlanRecurringFee",), _money(rng, n, 8.0)),
    }
    for i, name in enumerate(FILLER):
        cols[name] = (
            pick([f"{name.split('/')[1]}-{j}" for j in range(6)] + [""] * 3, rng.integers(0, 9, n)) if i % 3 else empty
        )
    for i, name in enumerate(TAGS):
        present = rng.random(n) < (0.35 / (i + 1))
        values = pick([f"{name.split(':')[-1].lower()}-{j}" for j in range(30)], rng.integers(0, 30, n))
        cols[name] = pc.if_else(pa.array(present), values, empty)
    return pa.table({name: cols[name] for name in HEADER})


def generate(
    path: Path, rows: int, *, columns: list[str] | None = None, seed: int = 7, chunk_rows: int = 200_000
) -> Path:
    """Write ``rows`` CUR rows to ``path`` (all of :data:`HEADER`, or only ``columns``) unless cached."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    accounts = _pool([f"{rng.integers(10**11, 10**12)}" for _ in range(300)])
    names = columns or HEADER
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as sink:
        sink.write((",".join(names) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        with pacsv.CSVWriter(sink, chunk(rng, 1, accounts, 0).select(names).schema, write_options=options) as w:
            done = 0
            while done < rows:
                n = min(chunk_rows, rows - done)
                w.write_table(chunk(rng, n, accounts, done).select(names))
                done += n
    tmp.replace(path)
    return path


OUT = Path(__file__).resolve().parent / "out"
BENCH_OPERATOR = UUID(int=1)  # the store of one (made-up) operator: stores are per operator
TOOLS = ("roundpool", "polars", "duckdb")


def _peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM (ru_maxrss would carry the parent's peak across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(tool: str, csv_path: str, target: str) -> None:
    Path(target).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if tool == "roundpool":
        from cost.imports import import_file
        from cost.store import CostStore

        rows = import_file(csv_path, CostStore(target).for_operator(BENCH_OPERATOR)).rows
    elif tool == "polars":
        import polars as pl

        pl.scan_csv(csv_path).sink_parquet(f"{target}/polars.parquet")
        rows = -1
    else:
        import duckdb

        Path(target).mkdir(parents=True, exist_ok=True)
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{target}/duckdb.parquet' (FORMAT parquet)")
        rows = -1
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = _peak_rss()
    print(
        json.dumps(
            {
                "tool": tool,
                "seconds": seconds,
                "cpu": usage.ru_utime + usage.ru_stime,
                "user": usage.ru_utime,
                "sys": usage.ru_stime,
                "faults": usage.ru_minflt,
                "peak_rss": peak,
                "rows": rows,
            }
        )
    )


def run(tool: str, csv_path: Path) -> dict[str, float]:
    target = OUT / f"ingest-{tool}"
    shutil.rmtree(target, ignore_errors=True)
    # Dirty pages of what was written before (the generated file, the previous tool's output, now deleted) are
    # written back now, not as system time of the child measured next (the first run after a 4.6 GB file was
    # generated measured up to 5x the system time of the next ones).
    os.sync()
    done = subprocess.run(
        [sys.executable, __file__, "--child", tool, str(csv_path), str(target)],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(target, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument(
        "--shape",
        choices=(*SHAPES, "both"),
        default="wide",
        help="wide: 109 columns; narrow: the real sample's 47 most populated columns",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of every tool per shape, interleaved")
    parser.add_argument("--child", nargs=3, metavar=("TOOL", "CSV", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    shapes = list(SHAPES) if args.shape == "both" else [args.shape]
    for attempt in range(args.repeat):
        for shape in shapes:
            bench_shape(shape, args.rows, args.tools.split(","), attempt)


def bench_shape(shape: str, rows: int, tools: list[str], attempt: int = 0) -> None:
    columns = SHAPES[shape]
    name = f"cur-legacy-{rows}.csv" if shape == "wide" else f"cur-legacy-{shape}-{rows}.csv"
    path = generate(OUT / name, rows, columns=columns)
    size = path.stat().st_size
    with path.open("rb") as handle:  # warm the page cache once for every tool
        while handle.read(64 << 20):
            pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{shape} file: {path.name}  {size / 1e6:,.0f} MB  {rows:,} rows  {len(columns)} columns"
        f"  (run {attempt + 1}, load average {load})"
    )
    # Alternate who goes first, so that neither tool always runs after the file's generation or the other's output.
    order = tools if attempt % 2 == 0 else tools[::-1]
    measured = {tool: run(tool, path) for tool in order}
    results = {tool: measured[tool] for tool in tools}
    print(
        f"{'tool':<10} {'seconds':>8} {'MB/s':>8} {'CPU s':>8} {'user':>6} {'sys':>6} {'cores':>6}"
        f" {'faults k':>9} {'peak RSS MiB':>13}"
    )
    for tool, r in results.items():
        rate = size / 1e6 / r["seconds"]
        print(
            f"{tool:<10} {r['seconds']:>8.2f} {rate:>8.1f} {r['cpu']:>8.2f} {r['user']:>6.2f} {r['sys']:>6.2f}"
            f" {r['cpu'] / r['seconds']:>6.2f} {r['faults'] / 1000:>9.0f} {r['peak_rss'] / 2**20:>13.0f}"
        )
    if "roundpool" in results:
        for other in ("polars", "duckdb"):
            if other in results:
                ratio = results["roundpool"]["seconds"] / results[other]["seconds"]
                cpu_ratio = results["roundpool"]["cpu"] / results[other]["cpu"]
                print(f"ratio roundpool/{other} ({shape}): {ratio:.2f} wall, {cpu_ratio:.2f} CPU")


if __name__ == "__main__":
    main()
