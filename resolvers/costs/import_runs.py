"""What a job that runs the import engine on one file shares, whether the file is a single import
(:func:`resolvers.costs.imports.run_import`) or a part of an assembly
(:func:`resolvers.costs.assembly_parts.run_assembly_part`): progress reports, the requester's operator, the
outcome of the engine's run as the manifest's fields, and the error it records."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cost import CostError, InputError, LockedPeriodError
from cost.errors import SourceError
from db.queries import costs, tenancy
from resolvers.common.job_requests import JobRefused, job_request
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime

Fields = dict[str, Any]

_logger = logging.getLogger("roundpool.jobs")


@dataclass
class Progress:
    bytes: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def update(self, bytes_read: int, rows: int) -> None:  # called on the import's thread
        with self._lock:
            self.bytes, self.rows = bytes_read, rows

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.bytes, self.rows


@contextlib.asynccontextmanager
async def reporting(
    runtime: RequestRuntime, requester: Member, import_id: UUID, interval: float
) -> AsyncIterator[Progress]:
    """A `Progress` for the engine's thread, written to the manifest at most once per `interval` until the block
    ends."""
    progress = Progress()
    reporter = asyncio.create_task(_report(runtime, requester, import_id, progress, interval))
    try:
        yield progress
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter


async def _report(
    runtime: RequestRuntime, requester: Member, import_id: UUID, progress: Progress, interval: float
) -> None:
    """Until cancelled; a requester refused mid-import stops the reports (the final stage refuses the job)."""
    last = (0, 0)
    while True:
        await asyncio.sleep(interval)
        current = progress.read()
        if current != last:
            try:
                async with job_request(runtime, requester, "progress refused") as ctx:
                    await costs.record_progress(ctx.tx, import_id, *current)
            except JobRefused:
                return
            last = current


async def engine_outcome(
    work: Callable[[], Awaitable[Fields]], location: str, label: str
) -> tuple[Fields, BaseException | None]:
    """The manifest's fields after `work`: its own, or ``failed`` with the reason. An unexpected error is
    recorded without its text and returned, for the caller to raise once the fields are written."""
    try:
        return await work(), None
    except (CostError, OSError) as error:
        return {"status": "failed", "error": error_details(error, location)}, None
    except Exception as error:
        _logger.exception("%s failed unexpectedly", label)
        reason = "internal error; see the worker's log"
        return {"status": "failed", "error": _error(location, reason)}, error


def gave_up(location: str, what: str, attempt: int) -> dict[str, Any]:
    """The error of a job past its retries (its worker died `attempt` times)."""
    return _error(location, f"the worker stopped during the {what}; retried {attempt - 1} times")


async def operator_slug(runtime: RequestRuntime, requester: Member, operator_id: UUID) -> str:
    """The operator's slug, which the cost sources are configured by (empty when it is not visible)."""
    async with job_request(runtime, requester, f"operator {operator_id} is not visible to the requester") as ctx:
        found = await tenancy.tenants_by_ids(ctx.tx, [operator_id])
    return found[0].slug if found else ""


def error_details(error: BaseException, location: str) -> dict[str, Any]:
    """The manifest's `error`: where (the manifest's location, 1-based data row, column) and why.

    The reason is the engine's own sentence, which quotes file content only once the file was recognised
    as a billing file; an operating-system or object-store error (whose text may quote a server's answer)
    is logged and reported without its text.
    """
    row: int | None = None
    column: str | None = None
    if isinstance(error, InputError):
        row, column, reason = error.row, error.column, error.reason
    elif isinstance(error, LockedPeriodError):
        reason = f"billing period {error.period} is locked (its invoice is closed)"
    elif isinstance(error, SourceError):
        reason = error.reason
    elif isinstance(error, CostError):
        reason = str(error)
    else:
        _logger.warning("cost import of %s could not read its file", location, exc_info=error)
        reason = "the file could not be read; see the worker's log"
    return {"file": location, "row": row, "column": column, "reason": reason}


def _error(location: str, reason: str) -> dict[str, Any]:
    return {"file": location, "row": None, "column": None, "reason": reason}
