"""One reader per connection socket (db/socket_waits.py), against the real server as the app role: it stays
registered between statements, leaves with the connection, removes itself when the socket turns readable with
nobody waiting, and an interrupted statement is cancelled on the server as psycopg cancels it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import psycopg
import pytest
import uvloop
from psycopg import generators
from psycopg.pq import Format

from db.json_values import loads as json_loads
from db.session import Database
from db.socket_waits import WaitingConnection
from tests.plugins.database import TestDatabase

GUARD_S = 10  # a wait that never wakes fails the test instead of hanging it


@pytest.fixture
async def waiting(test_database: TestDatabase) -> AsyncIterator[WaitingConnection]:
    conn = await WaitingConnection.connect(test_database.app_url, autocommit=True)
    try:
        yield conn
    finally:
        await conn.close()


async def _value(conn: psycopg.AsyncConnection[Any], sql: str, *params: Any) -> Any:
    cursor = await asyncio.wait_for(conn.execute(sql, params or None), GUARD_S)
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


def _registered(fileno: int) -> bool:
    """Whether a reader is registered on `fileno` (read by removing it: only at a test's end)."""
    return asyncio.get_running_loop().remove_reader(fileno)


async def test_the_engines_connect_waiting_connections_as_the_dialect_would(test_database: TestDatabase) -> None:
    """Both pools' connections are WaitingConnections, with what SQLAlchemy's own connect passes: the dialect's
    adapters (JSON read by the app's loads, db/json_values.py) and the DSN's driver options."""
    database = Database(f"{test_database.app_url}{'&' if '?' in test_database.app_url else '?'}prepare_threshold=7")
    try:
        for engine in (database.engine, database._side_engine):
            async with engine.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                assert isinstance(driver, WaitingConnection)
                assert driver.prepare_threshold == 7
                jsonb = driver.adapters.types["jsonb"].oid
                assert driver.adapters.get_loader(jsonb, Format.TEXT)._loads is json_loads  # type: ignore[attr-defined]
                assert await _value(driver, "select %s::jsonb", '{"a": [1, 12345678901234567890]}') == {
                    "a": [1, 12345678901234567890]
                }
    finally:
        await database.dispose()


async def test_statements_share_one_reader_that_stays_between_them(
    waiting: WaitingConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    added: list[int] = []
    add_reader = loop.add_reader

    def counting_add_reader(fd: int, callback: Callable[..., Any], *args: Any) -> None:
        added.append(fd)
        add_reader(fd, callback, *args)

    monkeypatch.setattr(loop, "add_reader", counting_add_reader)
    values = [await _value(waiting, "select %s::int * 2", n) for n in range(10)]
    assert values == [n * 2 for n in range(10)]
    assert added == [waiting.pgconn.socket]  # the first wait's, kept by the nine after it
    assert _registered(waiting.pgconn.socket)


async def test_closing_the_connection_removes_its_reader(test_database: TestDatabase) -> None:
    conn = await WaitingConnection.connect(test_database.app_url, autocommit=True)
    assert await _value(conn, "select 1") == 1
    fileno = conn.pgconn.socket
    await conn.close()
    assert not _registered(fileno)


async def test_a_socket_readable_with_nobody_waiting_drops_the_reader(
    waiting: WaitingConnection, test_database: TestDatabase
) -> None:
    """The server ends the idle connection: the reader removes itself (no callback on every turn of the loop),
    and the next statement reports the connection lost instead of waiting for ever."""
    assert await _value(waiting, "select 1") == 1
    fileno, pid = waiting.pgconn.socket, waiting.info.backend_pid
    async with await psycopg.AsyncConnection.connect(test_database.app_url, autocommit=True) as other:
        assert await _value(other, "select pg_terminate_backend(%s)", pid) is True
    for _ in range(50):  # until the server's goodbye has arrived and been seen
        await asyncio.sleep(0.02)
        if waiting._socket_waits is not None and waiting._socket_waits._loop is None:
            break
    assert not _registered(fileno)
    with pytest.raises(psycopg.OperationalError):
        await _value(waiting, "select 1")


async def test_an_interrupted_statement_is_cancelled_on_the_server(waiting: WaitingConnection) -> None:
    running = asyncio.ensure_future(waiting.execute("select pg_sleep(30)"))
    await asyncio.sleep(0.3)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, GUARD_S)
    assert not waiting.closed  # cancelled on the server and waited for, as psycopg does: still usable
    assert await _value(waiting, "select 'after'") == "after"


async def test_a_timed_wait_leaves_the_untimed_waits_working(waiting: WaitingConnection) -> None:
    assert await _value(waiting, "select 1") == 1  # the reader is registered
    waiting.pgconn.send_query(b"select 2")
    results = await waiting.wait(generators.execute(waiting.pgconn), timeout=GUARD_S)  # psycopg's own wait
    assert results[-1].get_value(0, 0) == b"2"
    assert await _value(waiting, "select 3") == 3  # registered again, not waiting on a reader psycopg removed


async def test_a_statement_larger_than_the_socket_buffer_waits_for_writing(waiting: WaitingConnection) -> None:
    text = "x" * (16 * 1024 * 1024)
    assert await _value(waiting, "select length(%s)", text) == len(text)
    assert await _value(waiting, "select 1") == 1


def _on_uvloop(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    uvloop.run(asyncio.wait_for(scenario(), 4 * GUARD_S))


def test_the_waits_work_on_uvloop(test_database: TestDatabase) -> None:
    """`roundpool serve` runs on uvloop, whose readers are libuv poll handles."""

    async def scenario() -> None:
        conn = await WaitingConnection.connect(test_database.app_url, autocommit=True)
        try:
            assert [await _value(conn, "select %s::int", n) for n in range(5)] == list(range(5))
            text = "y" * (8 * 1024 * 1024)
            assert await _value(conn, "select length(%s)", text) == len(text)
            running = asyncio.ensure_future(conn.execute("select pg_sleep(30)"))
            await asyncio.sleep(0.3)
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
            assert await _value(conn, "select 'after'") == "after"
            fileno = conn.pgconn.socket
        finally:
            await conn.close()
        assert not _registered(fileno)

    _on_uvloop(scenario)
