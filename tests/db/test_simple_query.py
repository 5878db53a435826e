"""The opening and COMMIT on the libpq handle (db/simple_query.py): values bound as quoted literals whatever
they contain, rows loaded as psycopg's cursor loads them, errors as psycopg raises them, a dropped connection
seen as dropped."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from db.simple_query import bind_literals, first_row, simple_query
from db.socket_waits import WaitingConnection
from tests.plugins.database import TestDatabase

HOSTILE = [
    "it's",
    "'; drop table tenants; --",
    "back\\slash \\' and E'\\x41'",
    "$$ dollar $$ quoting",
    "ünïcødé ✓ 日本",
    "%(other)s stays text",
    "",
]


@pytest.fixture(params=[psycopg.AsyncConnection, WaitingConnection], ids=["psycopg-waits", "socket-waits"])
async def driver(
    test_database: TestDatabase, request: pytest.FixtureRequest
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection waited on by psycopg's own waits, and one of the app's (db/socket_waits.py)."""
    connection_class: type[psycopg.AsyncConnection[Any]] = request.param
    conn = await connection_class.connect(test_database.app_url, autocommit=True)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.mark.parametrize("value", HOSTILE)
async def test_any_text_comes_back_as_the_one_literal_it_was(driver: psycopg.AsyncConnection[Any], value: str) -> None:
    sql = bind_literals(
        driver,
        "select %(value)s::text as value, %(n)s::integer as n, %(none)s::text as none",
        {
            "value": value,
            "n": -7,
            "none": None,
        },
    )
    results = await simple_query(driver, sql)
    assert len(results) == 1  # one statement ran: nothing in the value ended it
    assert first_row(driver, results[0]) == {"value": value, "n": -7, "none": None}
    assert driver.info.transaction_status == TransactionStatus.IDLE


async def test_a_nul_byte_is_refused_before_anything_is_sent(driver: psycopg.AsyncConnection[Any]) -> None:
    with pytest.raises(psycopg.DataError, match="NUL"):
        bind_literals(driver, "select %(value)s::text", {"value": "a\x00b"})
    with pytest.raises(psycopg.DataError, match="cannot be encoded"):
        bind_literals(driver, "select %(value)s::text", {"value": "\ud800"})  # a lone surrogate (from JSON)
    with pytest.raises(TypeError, match="only text, integers and NULL"):
        bind_literals(driver, "select %(value)s", {"value": 1.5})  # type: ignore[dict-item]
    assert driver.info.transaction_status == TransactionStatus.IDLE


async def test_rows_are_loaded_as_psycopgs_cursor_loads_them(driver: psycopg.AsyncConnection[Any]) -> None:
    sql = (
        "select gen_random_uuid() as id, now() as at, 1.50::numeric as amount, array[1, 2] as list,"
        " '{\"a\": 1}'::jsonb as doc, true as flag"
    )
    (result,) = await simple_query(driver, sql)
    ours = first_row(driver, result)
    assert ours is not None
    cursor = driver.cursor(row_factory=dict_row)
    await cursor.execute(
        "select %(id)s::uuid as id, %(at)s::timestamptz as at, 1.50::numeric as amount,"
        " array[1, 2] as list, '{\"a\": 1}'::jsonb as doc, true as flag",
        ours,
    )
    theirs = await cursor.fetchone()
    assert ours == theirs
    assert isinstance(ours["id"], uuid.UUID)
    (empty,) = await simple_query(driver, "select 1 where false")
    assert first_row(driver, empty) is None


async def test_a_failing_statement_raises_psycopgs_class_and_runs_nothing_after_it(
    driver: psycopg.AsyncConnection[Any],
) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero) as raised:
        await simple_query(driver, "begin; select 1 / 0; select set_config('app.user_id', 'x', true)")
    assert raised.value.sqlstate == "22012"
    assert driver.info.transaction_status == TransactionStatus.INERROR  # open, aborted: the caller rolls back
    await driver.rollback()
    (row,) = await simple_query(driver, "select current_setting('app.user_id', true) as bound")
    assert first_row(driver, row) == {"bound": None}  # the statement after the failure never ran


async def test_commit_ends_the_transaction_the_opening_began(driver: psycopg.AsyncConnection[Any]) -> None:
    await simple_query(driver, "begin; select set_config('app.user_id', 'someone', true)")
    assert driver.info.transaction_status == TransactionStatus.INTRANS
    await simple_query(driver, "commit")
    assert driver.info.transaction_status == TransactionStatus.IDLE
    (row,) = await simple_query(driver, "select current_setting('app.user_id', true) as bound")
    assert first_row(driver, row) == {"bound": ""}  # transaction-local: gone with the transaction


async def test_a_connection_the_server_drops_is_seen_as_dropped(driver: psycopg.AsyncConnection[Any]) -> None:
    with pytest.raises(psycopg.OperationalError):
        await simple_query(driver, "select pg_terminate_backend(pg_backend_pid())")
    assert driver.broken
    with pytest.raises(psycopg.OperationalError):
        await simple_query(driver, "select 1")
