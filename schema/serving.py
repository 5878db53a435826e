"""`roundpool serve --workers N`: Granian with N worker processes, each building its own app (engine, caches) in
its own lifespan. The parent has located (or started) the database and read the settings; it hands both to the
workers through their environment, so every process serves exactly the same configuration.

Granian parses HTTP and writes responses in Rust, off the worker's event loop (uvloop), which runs only the
application: measured against uvicorn with httptools on the same database, 1.2-1.5x the requests per second
(BENCHMARKS.md). A worker that dies is replaced (a crash loop stops the server); SIGINT or SIGTERM drains the
workers, whose lifespans end (the engine disposed, the in-process job worker stopped) before `run` returns.

The embedded default's in-process job worker must run once, not N times: each process tries a lock file in the
data folder and only the holder runs it (a worker that dies releases it to its replacement).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from granian.constants import Interfaces, Loops
from granian.server import Server as Granian
from starlette.applications import Starlette

from schema.settings import Settings

_SETTINGS = "ROUNDPOOL_SERVE_SETTINGS_JSON"
_APP_URL = "ROUNDPOOL_SERVE_APP_URL"
# Granian's own lines (start, workers, access log) through the root logger, so they come out as the app's do.
_GRANIAN_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {name: {"handlers": [], "propagate": True} for name in ("_granian", "granian.access")},
}


def run(settings: Settings, app_url: str, *, host: str, port: int, workers: int) -> None:
    os.environ[_SETTINGS] = settings.model_dump_json()
    os.environ[_APP_URL] = app_url
    Granian(
        "schema.serving:worker_app",
        factory=True,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        workers=workers,
        address=host,
        port=port,
        respawn_failed_workers=True,
        log_dictconfig=_GRANIAN_LOGGING,
        log_access=settings.access_log,
    ).serve()


def worker_app() -> Starlette:
    """The factory each worker process calls (Granian `factory=True`)."""
    from schema.app import create_app
    from schema.logs import configure_logging

    configure_logging()
    return create_app(Settings.model_validate_json(os.environ[_SETTINGS]), os.environ[_APP_URL], freeze_heap=True)


@contextmanager
def job_worker_lock(home: Path) -> Iterator[bool]:
    """True for the one process of this data folder that should run the in-process job worker."""
    home.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (home / "in-process-worker.lock").open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()  # releases the lock
