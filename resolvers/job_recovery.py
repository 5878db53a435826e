"""Jobs whose worker died: procrastinate's stalled-job recovery, with the timings it depends on.

A worker heartbeats every ``heartbeat_s`` (a row in ``procrastinate_workers``). A job still ``doing`` whose
worker has been silent for ``stalled_after_s`` (or whose worker row was pruned) is *stalled*: its process was
killed, lost its database connection or its machine. Recovery puts such jobs back to ``todo`` with
``attempts + 1`` (procrastinate's ``retry_job``); the task itself then decides, from ``attempts``, whether to
resume or, past ``max_retries``, to end its record ``failed`` with the reason. Every worker runs recovery when
it starts and, through a periodic task, every ``recovery_interval_s``.

Recovery needs no tenant context: it touches only procrastinate's tables; what a retried job does still runs
under its requester's context.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import procrastinate
from procrastinate.exceptions import ConnectorException

_logger = logging.getLogger("roundpool.jobs")

# Recovery and queue housekeeping: only long-running workers listen here (not the CLI's one-shot run).
MAINTENANCE_QUEUE = "maintenance"


class _JobSettings(Protocol):
    job_heartbeat_s: float
    job_stalled_after_s: float
    job_max_retries: int
    job_recovery_interval_s: int
    report_sync_interval_s: int
    store_vacuum_interval_s: int


@dataclass(frozen=True)
class JobTimings:
    """Every worker's timings, from the settings (:meth:`of`) wherever a worker runs, in or out of the server."""

    heartbeat_s: float = 10.0
    stalled_after_s: float = 60.0
    max_retries: int = 2
    recovery_interval_s: int = 60
    report_sync_interval_s: int = 900
    store_vacuum_interval_s: int = 6 * 3600  # 0: never

    def __post_init__(self) -> None:
        # A live worker must never look stalled: several heartbeats fit in the threshold.
        if self.stalled_after_s < 2 * self.heartbeat_s:
            raise ValueError(
                f"the stall threshold ({self.stalled_after_s} s) must be at least twice the heartbeat interval"
                f" ({self.heartbeat_s} s)"
            )

    @classmethod
    def of(cls, settings: _JobSettings) -> JobTimings:
        return cls(
            heartbeat_s=settings.job_heartbeat_s,
            stalled_after_s=settings.job_stalled_after_s,
            max_retries=settings.job_max_retries,
            recovery_interval_s=settings.job_recovery_interval_s,
            report_sync_interval_s=settings.report_sync_interval_s,
            store_vacuum_interval_s=settings.store_vacuum_interval_s,
        )

    @property
    def recovery_cron(self) -> str:
        return interval_cron(self.recovery_interval_s)


def interval_cron(seconds: int) -> str:
    """Every `seconds` (rounded down to whole minutes past a minute, hours past an hour, at most a day), as
    procrastinate's cron (a 6th column holds seconds)."""
    if seconds < 60:
        return f"* * * * * */{seconds}"
    if seconds < 3600:
        return f"*/{seconds // 60} * * * *"
    if seconds < 86_400:
        return f"0 */{seconds // 3600} * * *"
    return "0 0 * * *"


async def recover_stalled_jobs(job_app: procrastinate.App, stalled_after_s: float) -> list[int]:
    """Put the jobs of dead workers back in their queue; returns their ids."""
    manager = job_app.job_manager
    retried = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
        assert job.id is not None
        try:
            await manager.retry_job(job)
        except ConnectorException:  # another worker's recovery retried it first
            continue
        _logger.warning(
            "job %s (%s, attempt %s) was running on a worker that stopped: queued again",
            job.id,
            job.task_name,
            job.attempts + 1,
        )
        retried.append(job.id)
    return retried
