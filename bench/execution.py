"""Execution benchmark: the application's schema executing a 20-row page, without the database.

    python bench/execution.py                 # 10 alternating batches of 300 executions each
    python bench/execution.py --batches 20 --executions 500

The audit trail's resolver is replaced by one that returns 20 records held in memory, so what is measured is
GraphQL execution alone: Strawberry's `execute` over the real schema with graphql-core's own executor
(Strawberry's `StrawberryGraphQLCoreExecutionContext`, the reference) and with roundpool's
(`schema/executor.py`), in alternating batches in one process, CPU time per execution (best and median batch),
after the start-up heap is frozen as `roundpool serve` does. Checks that both give the same data. Prints the
peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import resolvers.common.audit as audit
from db.pagination import page_of
from db.records import AuditEventRecord
from schema.build import build_schema
from schema.heap import freeze_start_up_heap

PAGE = (
    "query Page { auditEvents(first: 20) { edges { node { id occurredAt action subjectType subjectId"
    " actorUserId actorTenantId details } } pageInfo { hasNextPage endCursor } } }"
)
_TENANT = uuid.uuid4()
_RECORDS = [
    AuditEventRecord(
        tenant_id=_TENANT,
        id=1000 - i,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor_user_id=uuid.uuid4(),
        actor_tenant_id=_TENANT,
        action="bench.event",
        subject_type="bench",
        subject_id=str(i),
        details={"n": i},
    )
    for i in range(21)
]


async def _records(_ctx: Any, window: Any) -> Any:
    return page_of(_RECORDS, window)


class _Context:
    max_page_size = 100


async def measure(batches: int, executions: int) -> dict[str, list[float]]:
    audit.audit_events = _records  # type: ignore[assignment]  # the database left out on purpose
    schema = build_schema()
    freeze_start_up_heap()
    ours = schema.execution_context_class
    executors = {"graphql-core": StrawberryGraphQLCoreExecutionContext, "roundpool": ours}
    data = {}
    for name, executor in executors.items():
        schema.execution_context_class = executor
        result = await schema.execute(PAGE, context_value=_Context())
        assert not result.errors, result.errors
        data[name] = result.data
    assert data["graphql-core"] == data["roundpool"], "the executors disagree"
    timings: dict[str, list[float]] = {name: [] for name in executors}
    for _ in range(batches):
        for name, executor in executors.items():
            schema.execution_context_class = executor
            started = time.process_time()
            for _ in range(executions):
                await schema.execute(PAGE, context_value=_Context())
            timings[name].append((time.process_time() - started) / executions * 1e6)
    schema.execution_context_class = ours
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--executions", type=int, default=300)
    args = parser.parse_args()
    timings = asyncio.run(measure(args.batches, args.executions))
    print(f"{'executor':<14} {'best µs':>8} {'median µs':>10}")
    for name, values in timings.items():
        print(f"{name:<14} {min(values):>8.0f} {statistics.median(values):>10.0f}")
    ratio = statistics.median(timings["roundpool"]) / statistics.median(timings["graphql-core"])
    print(f"ratio roundpool/graphql-core (median batch): {ratio:.2f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
