"""Prometheus metrics for GET /metrics: requests and latency by operation, errors by code, the database pool and
the job queue. Labels are bounded: operation names are the first `max_operations` distinct GraphQL names seen
(then "other"; none: "anonymous"), codes and statuses are the server's own. No label carries tenant data.

Each app has its own registry, so the counts are per process: with several server processes, scrape each one
(prometheus_client's multiprocess mode is not used).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from strawberry.extensions import SchemaExtension

from db.session import Database

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "ObservedOperation", "OperationNameExtension", "observed_operation"]

_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_JOB_STATUSES = ("todo", "doing", "failed")
_TIMEOUT = text("select set_config('statement_timeout', :ms, true)")
_JOB_COUNTS = text(
    "select queue_name, status::text, count(*) from procrastinate_jobs"
    " where status in ('todo', 'doing', 'failed') group by 1, 2"
)


@dataclass
class ObservedOperation:
    name: str | None


_operation: ContextVar[ObservedOperation | None] = ContextVar("roundpool_operation", default=None)


class OperationNameExtension(SchemaExtension):
    """Tells the HTTP layer the operation's name once the document is parsed (a document's only operation is
    named there even when the request's operationName is absent)."""

    def on_operation(self) -> Iterator[None]:
        yield
        cell = _operation.get()
        if cell is not None and self.execution_context.operation_name:
            cell.name = self.execution_context.operation_name


@contextmanager
def observed_operation(requested: str | None) -> Iterator[ObservedOperation]:
    """The operation of the request being answered: the requested name until execution names it."""
    cell = ObservedOperation(requested)
    token = _operation.set(cell)
    try:
        yield cell
    finally:
        _operation.reset(token)


class Metrics:
    def __init__(self, max_operations: int) -> None:
        self.registry = CollectorRegistry()
        self._max_operations = max_operations
        self._operations: set[str] = set()
        self._queues: set[str] = set()
        self.requests = Counter(
            "roundpool_graphql_requests",
            "GraphQL requests by operation and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "roundpool_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation",
            ["operation"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.errors = Counter(
            "roundpool_graphql_errors", "GraphQL errors by extensions.code", ["code"], registry=self.registry
        )
        self.pool = Gauge(
            "roundpool_db_pool_connections",
            "The app role's connection pool: size, checked_out, overflow",
            ["state"],
            registry=self.registry,
        )
        self.jobs = Gauge(
            "roundpool_jobs",
            "Jobs by queue and status (todo, doing, failed)",
            ["queue", "status"],
            registry=self.registry,
        )

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _NAME.fullmatch(name):
            return "invalid"
        if name not in self._operations:
            if len(self._operations) >= self._max_operations:
                return "other"
            self._operations.add(name)
        return name

    def observe(self, operation: str | None, status: int, body: dict[str, Any], started: float) -> None:
        label = self.operation_label(operation)
        self.requests.labels(label, str(status)).inc()
        self.latency.labels(label).observe(time.perf_counter() - started)
        for error in body.get("errors", []):
            code = error.get("extensions", {}).get("code")
            self.errors.labels(code if isinstance(code, str) and _NAME.fullmatch(code) else "UNKNOWN").inc()

    async def exposition(self, database: Database) -> bytes:
        """The text format, with the pool and the queue read now."""
        pool: Any = database.engine.sync_engine.pool
        self.pool.labels("size").set(pool.size())
        self.pool.labels("checked_out").set(pool.checkedout())
        self.pool.labels("overflow").set(max(0, pool.overflow()))
        async with database.engine.connect() as conn:
            await conn.execute(_TIMEOUT, {"ms": str(database.statement_timeout_ms)})
            counts = {(queue, status): n for queue, status, n in (await conn.execute(_JOB_COUNTS)).all()}
            await conn.rollback()
        self._queues.update(queue for queue, _ in counts)
        for queue in self._queues:
            for status in _JOB_STATUSES:
                self.jobs.labels(queue, status).set(counts.get((queue, status), 0))
        return generate_latest(self.registry)
