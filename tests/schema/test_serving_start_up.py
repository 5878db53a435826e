"""What a `roundpool serve` worker does once it has started: its start-up heap is frozen out of the cyclic
collector (a full collection re-traversed it inside some request), Granian's access log is off unless
ROUNDPOOL_ACCESS_LOG asks for it, and each worker builds its app from the settings the parent read."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

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
    """Stands in for Granian: given its options, `serve()` does what one worker process does (the factory
    named by the target, the app's lifespan) and asks the app one health check."""

    def __init__(self) -> None:
        self.target = ""
        self.options: dict[str, Any] = {}
        self.frozen_while_serving = -1
        self.threshold_while_serving = (-1, -1, -1)
        self.healthy = False
        self.settings: Settings | None = None

    def __call__(self, target: str, **options: Any) -> _Served:
        self.target, self.options = target, options
        return self

    def serve(self) -> None:
        module, _, factory = self.target.partition(":")
        assert module == serving.__name__
        assert self.options["factory"] is True
        app = getattr(serving, factory)()
        asyncio.run(self._serve(app))

    async def _serve(self, app: Any) -> None:
        async with app.router.lifespan_context(app):
            self.frozen_while_serving = gc.get_freeze_count()
            self.threshold_while_serving = gc.get_threshold()
            self.settings = app.state.runtime.settings
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                self.healthy = (await client.get("/healthz")).status_code == 200


def _serve(settings: Settings, app_url: str, monkeypatch: pytest.MonkeyPatch, workers: int = 1) -> _Served:
    served = _Served()
    monkeypatch.setattr(serving, "Granian", served)
    for name in (serving._SETTINGS, serving._APP_URL):
        monkeypatch.delenv(name, raising=False)  # set by run() for its workers; gone after the test
    serving.run(settings, app_url, host="127.0.0.1", port=0, workers=workers)
    return served


def test_a_started_serve_process_has_frozen_its_start_up_heap(
    settings: Settings,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    unfrozen: None,
    restore_logging: None,
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


def test_granians_access_log_is_off_by_default(
    settings: Settings,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    unfrozen: None,
    restore_logging: None,
) -> None:
    monkeypatch.delenv("ROUNDPOOL_ACCESS_LOG", raising=False)
    assert Settings().access_log is False
    served = _serve(settings, test_database.app_url, monkeypatch)
    assert served.options["log_access"] is False


def test_roundpool_access_log_true_turns_it_on(
    settings: Settings,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    unfrozen: None,
    restore_logging: None,
) -> None:
    monkeypatch.setenv("ROUNDPOOL_ACCESS_LOG", "true")
    assert Settings().access_log is True
    served = _serve(settings.model_copy(update={"access_log": True}), test_database.app_url, monkeypatch)
    assert served.options["log_access"] is True


def test_every_worker_serves_the_settings_the_parent_read(
    settings: Settings,
    test_database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    unfrozen: None,
    restore_logging: None,
) -> None:
    changed = settings.model_copy(update={"max_depth": 7, "forwarded_allow_ips": "10.0.0.1"})
    served = _serve(changed, test_database.app_url, monkeypatch, workers=3)
    assert served.options["workers"] == 3
    assert served.options["respawn_failed_workers"] is True  # a dead worker is replaced
    assert served.healthy
    assert served.settings == changed
