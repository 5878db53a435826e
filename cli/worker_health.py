"""The worker's health for a container probe: while it runs, the worker writes the time into a file in its
data folder every heartbeat, after a query through its own database pool; `roundpool worker --check` reads
it. A worker that is stuck or cannot reach the database stops writing, and the probe fails."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from sqlalchemy import text

from db.session import Database

_logger = logging.getLogger("roundpool.worker")
HEARTBEAT_FILE = "worker-heartbeat"


def heartbeat_path(home: Path) -> Path:
    return home / HEARTBEAT_FILE


async def beat(database: Database, path: Path, every_s: float) -> None:
    """Until cancelled: reach the database, then record the time (a failure skips the record)."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    while True:
        try:
            async with database.engine.connect() as conn:
                await conn.execute(text("select 1"))
            await asyncio.to_thread(_record, path, time.time())
        except Exception as error:  # any failure only means this beat is missed; the probe judges
            _logger.warning("worker heartbeat missed: %s", error)
        await asyncio.sleep(every_s)


def _record(path: Path, now: float) -> None:
    # Written aside and renamed (atomic): a probe never reads a half-written file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(f"{now:.3f}\n")
    os.replace(temporary, path)


def unhealthy(path: Path, stalled_after_s: float, now: float | None = None) -> str | None:
    """Why the worker writing `path` is not healthy, or None."""
    try:
        last = float(path.read_text().strip())
    except FileNotFoundError:
        return f"no worker heartbeat in {path} (is `roundpool worker` running here?)"
    except (OSError, ValueError):
        return f"unreadable worker heartbeat in {path}"
    age = (time.time() if now is None else now) - last
    if age > stalled_after_s:
        return f"the worker's last heartbeat is {age:.0f} s old (ROUNDPOOL_JOB_STALLED_AFTER_S is {stalled_after_s:g})"
    return None
