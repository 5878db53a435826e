"""A request's two statements that every request sends, on the libpq handle of its psycopg connection: the
opening (BEGIN and the context's binding, one simple query) and COMMIT.

psycopg's cursor spends more CPU on them than the round trips do: a cursor per statement, client-side binding
through its dumpers and its result bookkeeping. Measured in process, an `app.open_request` opening and its
COMMIT: 308 → 209 µs of CPU on a bare connection, 599 → 526 µs through db/session.py. Here the query is sent
with ``PQsendQuery``, read by psycopg's own (compiled) result generator and waited on by the connection's `wait`
(with db/socket_waits.py's connections, one reader on the socket for all its waits), and its row is loaded by
psycopg's Transformer, so values come back exactly as a cursor returns them. Errors are psycopg's classes, built
from the result as psycopg builds them.

Values are bound as literals quoted by libpq (``PQescapeLiteral``, which knows the connection's encoding), the
same binding psycopg's client-side cursor does: only text, integers and NULL, which is all the opening binds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import errors, generators, pq
from psycopg.adapt import Transformer

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)


def bind_literals(driver: psycopg.AsyncConnection[Any], sql: str, params: Mapping[str, str | int | None]) -> str:
    """`sql`, whose `%(name)s` placeholders are all in `params`, with each value as a quoted literal."""
    escaping = pq.Escaping(driver.pgconn)
    encoding = driver.info.encoding
    literals: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            literals[name] = "NULL"
        elif isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"{name}: only text, integers and NULL are bound as literals, not {type(value).__name__}")
        elif isinstance(value, int):
            literals[name] = str(value)
        elif "\x00" in value:
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        else:
            try:
                encoded = value.encode(encoding)
            except UnicodeEncodeError as error:
                raise psycopg.DataError(f"{name}: the value cannot be encoded in {encoding}") from error
            literals[name] = escaping.escape_literal(encoded).decode(encoding)
    return sql % literals


async def simple_query(driver: psycopg.AsyncConnection[Any], query: str) -> list[pq.abc.PGresult]:
    """Send `query` (one or more statements) with the simple protocol and return their results; the first
    failed statement's error is raised (the server ran none after it)."""
    pgconn = driver.pgconn
    pgconn.send_query(query.encode(driver.info.encoding))
    results: list[pq.abc.PGresult] = await driver.wait(generators.execute(pgconn))
    for result in results:
        if result.status not in _OK:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(result, encoding=driver.info.encoding)
            raise psycopg.InterfaceError(f"unexpected result {pq.ExecStatus(result.status).name} from {query[:60]!r}")
    return results


def first_row(driver: psycopg.AsyncConnection[Any], result: pq.abc.PGresult) -> dict[str, Any] | None:
    """The result's first row by column name, its values loaded by the connection's adapters; None if empty."""
    if result.ntuples == 0:
        return None
    loader = Transformer(driver)
    loader.set_pgresult(result)
    encoding = driver.info.encoding
    names = [(result.fname(column) or b"").decode(encoding) for column in range(result.nfields)]
    return dict(zip(names, loader.load_row(0, tuple), strict=True))
