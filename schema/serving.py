"""`roundpool serve --workers N`: uvicorn (httptools, uvloop) with N processes, each building its own app
(engine, caches) in its own lifespan. The parent has located (or started) the database and read the settings;
it hands both to the workers through their environment, so every process serves exactly the same
configuration.

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

from starlette.applications import Starlette

from schema.settings import Settings

_SETTINGS = "ROUNDPOOL_SERVE_SETTINGS_JSON"
_APP_URL = "ROUNDPOOL_SERVE_APP_URL"


def run(settings: Settings, app_url: str, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    if workers <= 1:
        from schema.app import create_app

        app = create_app(settings, app_url, freeze_heap=True)
        uvicorn.run(app, host=host, port=port, **_options(settings))
        return
    os.environ[_SETTINGS] = settings.model_dump_json()
    os.environ[_APP_URL] = app_url
    uvicorn.run(
        "schema.serving:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        **_options(settings),
    )


def _options(settings: Settings) -> dict[str, Any]:
    # The app decides whose X-Forwarded-For to believe (ROUNDPOOL_FORWARDED_ALLOW_IPS, schema/app.py), so
    # uvicorn's own proxy-headers middleware is off rather than applied a second time with its own list.
    # Responses leave in one write each (schema/http_protocol.py).
    from schema.http_protocol import CoalescingProtocol

    return {
        "log_config": None,
        "access_log": settings.access_log,
        "proxy_headers": False,
        "http": CoalescingProtocol,
    }


def worker_app() -> Starlette:
    """The factory each worker process calls (uvicorn `factory=True`)."""
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
