"""What a `roundpool serve` process does once it has started: its start-up heap is frozen out of the cyclic
collector (a full collection re-traversed it inside some request), and uvicorn's access log is off unless
ROUNDPOOL_ACCESS_LOG asks for it."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from schema import serving
from schema.app import create_app
from schema.heap import YOUNG_GENERATION_THRESHOLD
from schema.settings import Settings
from tests.plugins.database import TestDatabase


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test run keeps an ordinary collector
    gc.set_threshold(*threshold)


class _Served:
    """Stands in for uvicorn's loop: starts the app it is given, asks it one health check, stops it."""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.frozen_while_serving = -1
        self.threshold_while_serving = (-1, -1, -1)
        self.healthy = False

    def __call__(self, app: Starlette, **options: Any) -> None:
        self.options = options
        asyncio.run(self._serve(app))

    async def _serve(self, app: Starlette) -> None:
        async with app.router.lifespan_context(app):
            self.frozen_while_serving = gc.get_freeze_count()
            self.threshold_while_serving = gc.get_threshold()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                self.healthy = (await client.get("/healthz")).status_code == 200


def _serve(settings: Settings, app_url: str, monkeypatch: pytest.MonkeyPatch) -> _Served:
    served = _Served()
    monkeypatch.setattr(uvicorn, "run", served)
    serving.run(settings, app_url, host="127.0.0.1", port=0, workers=1)
    return served


def test_a_started_serve_process_has_frozen_its_start_up_heap(
    settings: Settings, test_database: TestDatabase, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    assert gc.get_freeze_count() == 0
    served = _serve(settings, test_database.app_url, monkeypatch)
    assert served.healthy
    assert served.frozen_while_serving > 10_000  # the schema, the app and the modules, not a handful
    # the youngest generation sized for a request's allocations; the older generations as they were
    assert served.threshold_while_serving == (YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


async def test_an_app_not_started_by_serve_leaves_the_collector_alone(
    settings: Settings, test_database: TestDatabase, unfrozen: None
) -> None:
    app = create_app(settings, test_database.app_url)
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold()[0] != YOUNG_GENERATION_THRESHOLD


def test_uvicorns_access_log_is_off_by_default(
    settings: Settings, test_database: TestDatabase, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    monkeypatch.delenv("ROUNDPOOL_ACCESS_LOG", raising=False)
    assert Settings().access_log is False
    served = _serve(settings, test_database.app_url, monkeypatch)
    assert served.options["access_log"] is False
    assert served.options["proxy_headers"] is False  # the app's own middleware reads X-Forwarded-For


def test_roundpool_access_log_true_turns_it_on(
    settings: Settings, test_database: TestDatabase, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    monkeypatch.setenv("ROUNDPOOL_ACCESS_LOG", "true")
    assert Settings().access_log is True
    served = _serve(settings.model_copy(update={"access_log": True}), test_database.app_url, monkeypatch)
    assert served.options["access_log"] is True


def test_every_worker_serves_the_settings_the_parent_read(
    settings: Settings,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    unfrozen: None,
    restore_logging: None,
) -> None:
    """`serve --workers N` hands the parent's settings to uvicorn's worker processes through the environment;
    the factory each worker calls builds its app from exactly those."""
    changed = settings.model_copy(update={"max_depth": 7, "forwarded_allow_ips": "10.0.0.1"})
    seen: dict[str, Any] = {}

    def workers_started(target: str, **options: Any) -> None:
        seen.update(options, target=target)

    monkeypatch.setattr(uvicorn, "run", workers_started)
    for name in (serving._SETTINGS, serving._APP_URL):
        monkeypatch.delenv(name, raising=False)  # set by run() for its workers; gone after the test
    serving.run(changed, test_database.app_url, host="127.0.0.1", port=0, workers=3)
    assert seen["target"] == "schema.serving:worker_app"
    assert seen["factory"] is True
    assert seen["workers"] == 3
    assert seen["proxy_headers"] is False
    app = serving.worker_app()  # what each worker process calls

    async def started_settings() -> Settings:
        async with app.router.lifespan_context(app):
            return app.state.runtime.settings  # type: ignore[no-any-return]

    assert asyncio.run(started_settings()) == changed
