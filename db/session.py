"""The engine and the per-request transaction.

Every transaction's first statement binds the request's context with `set_config(…, true)` (transaction-local,
so nothing survives on a pooled connection), sent with BEGIN in one round trip on the driver's libpq handle
(db/simple_query.py, as is a COMMIT that nothing else needs); a request with a token opens
with app.open_request instead, which also provisions the user and resolves the principal in that round trip.
Statements run through SQLAlchemy Core on one `AsyncConnection` (the ORM session's unit of work cost a third of
a request and bought nothing here), or, compiled once (db/compiled.py, the request path's hot statements), on
its psycopg connection with `fetch`; the connection wrapper binds the context whenever a transaction begins, so
no code path can forget it, and one without a context refuses before it takes a connection. A transaction
whose statements all bypassed SQLAlchemy commits on the driver too. The engines' connections are
db/socket_waits.py's, whose waits share one reader on the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.rows import tuple_row
from sqlalchemy import event, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction, create_async_engine
from sqlalchemy.pool import PoolResetState
from sqlalchemy.sql import Executable

from db.compiled import CompiledQuery
from db.errors import DatabaseUnavailable, MissingContext, TransactionClosed, mapped_errors
from db.json_values import loads as json_loads
from db.location import driver_dsn, sqlalchemy_url
from db.simple_query import bind_literals, first_row, simple_query
from db.socket_waits import WaitingConnection

T = TypeVar("T")

_BIND = (
    "select set_config('app.user_id', {user_id}, true), set_config('app.tenant_id', {tenant_id}, true),"
    " set_config('statement_timeout', {timeout}, true)"
)
# With BEGIN, bound client-side (psycopg placeholders, see _ContextConnection); later in the transaction, a statement.
_SET_CONTEXT = _BIND.format(user_id="%(user_id)s::text", tenant_id="%(tenant_id)s::text", timeout="%(timeout)s::text")
_REBIND = text(_BIND.format(user_id=":user_id", tenant_id=":tenant_id", timeout=":timeout"))

# No pre-ping (a round trip per checkout): a connection the server dropped fails on the transaction's first
# statement, the set_config, which nothing depends on yet, so it is retried once on a fresh connection
# (SQLAlchemy invalidates the dead one and every pooled connection older than it). Recycling bounds how long an
# idle connection is trusted.
_POOL_RECYCLE_S = 1_800
_CLOSED_CHECKOUTS = 3  # pooled connections the driver knows closed, discarded before one is used as it is


@dataclass(frozen=True)
class DbContext:
    """Who the statements run for: the user, and the acting tenant if one was chosen."""

    user_id: UUID
    tenant_id: UUID | None = None


# Before anyone is known (a token's user being provisioned): a context that matches no user, so every policy
# sees nothing.
NOBODY = DbContext(user_id=UUID(int=0))


class _ContextConnection:
    """A pooled connection, taken at the first statement, whose every transaction begins with the binding of
    `context`, sent with BEGIN as one simple query (one round trip); with no context it refuses to begin.

    The connection runs in the driver's autocommit mode so that the driver sends no BEGIN of its own; the
    transaction is the explicit one the first statement opens, and a statement that finds no transaction open
    on the server (it ended behind this object's back) is refused rather than run outside one."""

    def __init__(self, engine: AsyncEngine, statement_timeout_ms: int, context: DbContext | None = None) -> None:
        self._engine = engine
        self.timeout_ms = statement_timeout_ms
        self._timeout = str(statement_timeout_ms)
        self.context = context
        self._conn: AsyncConnection | None = None
        self._driver: psycopg.AsyncConnection[Any] | None = None
        # The server's transaction, opened by the first statement; SQLAlchemy's own (begun by its first
        # statement, a no-op on the server in autocommit mode) exists only when a statement went through it.
        self._in_transaction = False

    @property
    def begun(self) -> bool:
        return self._in_transaction

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> Result[*tuple[Any, ...]]:
        conn = await self._begun()
        return await conn.execute(statement, params)

    async def fetch(self, query: CompiledQuery, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """`query`'s rows, run on the driver connection (no SQLAlchemy on the way); errors as SQLAlchemy's
        DBAPIError, as `execute` raises them, for the caller's mapping."""
        conn = (await self._begun()).sync_connection
        driver = self._driver
        assert driver is not None
        assert conn is not None
        bound = query.bind(params)
        # The engine's cursor events see these statements as they see execute's (the statement counts of
        # tests and benchmarks); without a listener, two falsy checks. The engine's own dispatcher: the
        # connection's joins it anew on every attribute read.
        events = self._engine.sync_engine.dispatch
        try:
            cursor = driver.cursor(row_factory=tuple_row)
            if events.before_cursor_execute:
                events.before_cursor_execute(conn, cursor, query.sql, bound, None, False)
            await cursor.execute(query.sql, bound)
            if events.after_cursor_execute:
                events.after_cursor_execute(conn, cursor, query.sql, bound, None, False)
            # Whether rows came back, read off the result: `description` builds a Column object per column.
            result = cursor.pgresult
            return await cursor.fetchall() if result is not None and result.status == ExecStatus.TUPLES_OK else []
        except psycopg.Error as error:
            wrapped = self._wrapped(query.sql, bound, error)
            if wrapped.connection_invalidated and self._conn is not None:
                await self._conn.invalidate()  # as SQLAlchemy does with a connection its statement found dropped
            raise wrapped from error

    async def begin_nested(self) -> AsyncTransaction:
        conn = await self._begun()
        return await conn.begin_nested()

    async def commit(self) -> None:
        """COMMIT, through SQLAlchemy when a statement went through it (its transaction, savepoints), else on
        the driver's libpq handle (db/simple_query.py; the server's transaction is the one the opening began)."""
        if not self._in_transaction or self._conn is None or self._driver is None:
            return
        if self._conn.in_transaction():
            await self._conn.commit()
        else:
            try:
                await simple_query(self._driver, "commit")
            except psycopg.Error as error:
                raise self._wrapped("commit", {}, error) from error
        self._in_transaction = False

    async def rollback(self) -> None:
        if not self._in_transaction or self._conn is None or self._driver is None:
            self._in_transaction = False  # an opening that found no connection: nothing to undo
            return
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
            elif not self._dropped():  # the server ended a dropped connection's transaction
                try:
                    await self._driver.rollback()
                except psycopg.Error as error:
                    raise self._wrapped("rollback", {}, error) from error
        finally:
            self._in_transaction = False

    async def close(self) -> None:
        conn, driver, self._conn, self._driver = self._conn, self._driver, None, None
        self._in_transaction = False
        if conn is None:
            return
        if driver is not None and driver.autocommit:
            # Back to the pool as SQLAlchemy's other users expect it (transactions begun by the driver). A
            # connection that is not idle cannot be switched back: it is discarded, never pooled in autocommit.
            if driver.pgconn.transaction_status == TransactionStatus.IDLE:
                await driver.set_autocommit(False)
            else:
                await conn.invalidate()
        await conn.close()

    async def open(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Begin the transaction with `sql`, a statement that binds the context itself, and return its row."""
        if self.begun:
            raise MissingContext("a transaction opens only once, with its first statement")
        row = await self._open(sql, params)
        if row is None:
            raise MissingContext("the opening statement returned no context")
        return row

    async def write_alone(self, statements: Sequence[tuple[CompiledQuery, Mapping[str, Any]]]) -> None:
        """`statements` as a whole transaction in one round trip: BEGIN, the context's binding, the statements
        and COMMIT as one simple query (client-side bound, as the opening is); their rows are not read. On an
        error the server's transaction stays open (aborted) for the caller's rollback."""
        context = self.context
        if not isinstance(context, DbContext):
            raise MissingContext("a transaction began without a request context")
        if self.begun:
            raise MissingContext("statements run alone only in a transaction that has not begun")
        await self._open(_SET_CONTEXT, _context_params(context, self._timeout), then=statements)
        self._in_transaction = False  # committed

    async def _begun(self) -> AsyncConnection:
        context = self.context
        if not isinstance(context, DbContext):
            raise MissingContext("a transaction began without a request context")
        if not self._in_transaction:
            await self._open(_SET_CONTEXT, _context_params(context, self._timeout))
        assert self._conn is not None
        assert self._driver is not None
        if self._driver.pgconn.transaction_status == TransactionStatus.IDLE:
            raise MissingContext("the request's transaction ended before its statement")
        return self._conn

    async def _open(
        self, sql: str, params: Mapping[str, Any], then: Sequence[tuple[CompiledQuery, Mapping[str, Any]]] = ()
    ) -> dict[str, Any] | None:
        try:
            try:
                return await self._send_opening(sql, params, then)
            except DBAPIError as error:
                # A pooled connection the server dropped: the opening ran nothing yet, so it is retried once on
                # a fresh connection (the dead one is invalidated, never returned to the pool).
                if not self._lost(error):
                    raise
                conn, self._conn, self._driver = self._conn, None, None
                if conn is not None:
                    await conn.invalidate()
                    await conn.close()
                return await self._send_opening(sql, params, then)
        except (DBAPIError, PoolTimeout) as error:
            # No connection to be had (refused, the pool's wait ran out), or none that stays open for the
            # opening (PgBouncer's query_wait_timeout): unavailable, unlike a refusal by the opening statement
            # itself (app.open_request's 28000) on a connection that works.
            if self._conn is None or isinstance(error, PoolTimeout) or self._lost(error):
                raise DatabaseUnavailable(f"the database cannot be reached: {_reason(error)}") from error
            raise

    async def _send_opening(
        self, sql: str, params: Mapping[str, Any], then: Sequence[tuple[CompiledQuery, Mapping[str, Any]]]
    ) -> dict[str, Any] | None:
        """BEGIN and `sql` (then `then` and COMMIT, when given) as one simple query; `sql`'s row."""
        if self._conn is None:
            self._conn, self._driver = await self._checkout()
        driver = self._driver
        assert driver is not None
        self._in_transaction = True  # the server's transaction is the BEGIN below (autocommit: none of psycopg's)
        # Client-side binding (values quoted as literals) so that BEGIN and the statement travel as one simple
        # query; on the libpq handle directly (db/simple_query.py): a third less CPU than psycopg's cursor.
        try:
            opening = f"begin; {bind_literals(driver, sql, params)}"
            if then:
                cursor = psycopg.AsyncClientCursor(driver)  # the statements' own types: psycopg's dumpers
                alone = "; ".join(cursor.mogrify(query.sql, query.bind(values)) for query, values in then)
                await simple_query(driver, f"{opening}; {alone}; commit")
                return None
            results = await simple_query(driver, opening)
            return first_row(driver, results[-1])
        except psycopg.Error as error:
            raise self._wrapped(sql, params, error) from error

    def _wrapped(self, sql: str, params: Mapping[str, Any], error: psycopg.Error) -> DBAPIError:
        """The driver's error as SQLAlchemy raises it (what mapped_errors and the opening's retry read)."""
        wrapped = DBAPIError.instance(sql, dict(params), error, psycopg.Error, connection_invalidated=self._dropped())
        assert isinstance(wrapped, DBAPIError)  # a psycopg.Error always is one
        return wrapped

    async def _checkout(self) -> tuple[AsyncConnection, psycopg.AsyncConnection[Any]]:
        """A pooled connection in autocommit mode; one the driver already knows is closed is discarded here,
        without a round trip (the pool is not pinged). Autocommit is the driver's flag, set and reset (close())
        directly: SQLAlchemy's `isolation_level="AUTOCOMMIT"` did the same through a greenlet at checkout and a
        characteristics reset at checkin, 50-100 µs of CPU a request; SQLAlchemy sends the same DBAPI calls
        either way (its isolation flag changes only what it logs)."""
        for attempt in range(1, _CLOSED_CHECKOUTS + 1):
            conn = await self._engine.connect()
            # Read without a greenlet (get_raw_connection spawns one): connect() made the connection, so the
            # property does no I/O.
            sync = conn.sync_connection
            raw = sync.connection.driver_connection if sync is not None else None
            assert raw is not None
            driver: psycopg.AsyncConnection[Any] = raw
            if attempt == _CLOSED_CHECKOUTS or not (driver.closed or driver.broken):  # the last is used as it is
                if driver.pgconn.transaction_status == TransactionStatus.IDLE:  # else its opening fails as lost
                    await driver.set_autocommit(True)
                return conn, driver
            await conn.invalidate()
            await conn.close()
        raise AssertionError("unreachable")

    def _lost(self, error: DBAPIError) -> bool:
        return error.connection_invalidated or self._dropped()

    def _dropped(self) -> bool:
        return self._driver is not None and (self._driver.closed or self._driver.broken)

    async def rebind(self, context: DbContext) -> None:
        """Bind `context` in the open transaction, or let the next one begin with it (no round trip)."""
        if self._in_transaction:
            conn = await self._begun()
            await conn.execute(_REBIND, _context_params(context, self._timeout))
        self.context = context


_OPEN_REQUEST = (
    "select * from app.open_request(%(issuer)s::text, %(subject)s::text, %(email)s::text, %(name)s::text,"
    " %(tenant)s::text, %(timeout)s::integer)"
)


@dataclass(frozen=True)
class TokenUser:
    """A verified token's user (provisioned on first use) and the tenant they ask to act for (None: their only
    tenant)."""

    issuer: str
    subject: str
    trusted_email: str | None
    name: str | None
    tenant_slug: str | None


def _reason(error: Exception) -> str:
    """The driver's reason in one line, for the log (the client is told only that the database is unavailable)."""
    original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return " ".join(line.strip() for line in str(original).splitlines() if line.strip()) or type(original).__name__


def _context_params(context: DbContext, timeout: str) -> dict[str, str]:
    return {
        "user_id": str(context.user_id),
        "tenant_id": str(context.tenant_id) if context.tenant_id else "",
        "timeout": timeout,
    }


def _engine(conninfo: str, options: Mapping[str, Any], *, pool_size: int) -> AsyncEngine:
    """An engine whose connections are db/socket_waits.py's (every wait of a connection shares one reader on its
    socket), connected with exactly the arguments the dialect would pass psycopg (its adapters, which read JSON
    with `json_loads`, and `options`): SQLAlchemy's `async_creator` applies neither itself."""
    engine: AsyncEngine

    async def connect() -> WaitingConnection:
        sync = engine.sync_engine
        args, params = sync.dialect.create_connect_args(sync.url)
        return await WaitingConnection.connect(*args, **{**params, **options})

    engine = create_async_engine(
        sqlalchemy_url(conninfo),
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=_POOL_RECYCLE_S,
        json_deserializer=json_loads,
        pool_reset_on_return=None,  # _reset_on_return below instead
    )
    event.listen(engine.sync_engine, "reset", _reset_on_return)
    return engine


def _reset_on_return(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
    """The pool's rollback of a connection given back, sent only when a transaction is open. A request's
    transaction commits on the driver (db/simple_query.py), so SQLAlchemy cannot know it ended and rolled back
    every connection: through a greenlet, for a rollback the driver then skips (no transaction, no round trip).
    Like SQLAlchemy's own, it does nothing where it may not do I/O (a connection collected without a close)."""
    if not state.asyncio_safe:
        return
    if dbapi_connection.driver_connection.pgconn.transaction_status != TransactionStatus.IDLE:
        dbapi_connection.rollback()  # the adapter's: awaited through the greenlet the check-in runs in


class Database:
    """The app role's engine; created once in the ASGI lifespan (or a CLI command) and disposed there."""

    def __init__(self, app_url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5_000) -> None:
        dsn = driver_dsn(app_url)  # `?prepare_threshold=none` behind a transaction pooler
        self.engine: AsyncEngine = _engine(dsn.conninfo, dsn.connect_args, pool_size=pool_size)
        # Side transactions (see RequestTransaction.aside) come from a pool of their own: a request holding a
        # connection of the main pool never waits for a second one from it, which could exhaust it for good.
        # No pre-ping there either (a VC's every granted read commits its audit there): a side transaction's
        # opening retries a dropped connection like the main pool's, and the rate limiter retries its lease.
        # Behind PgBouncer the side DSN names an alias with a server pool of its own.
        self._side_engine: AsyncEngine = _engine(dsn.side_conninfo, dsn.connect_args, pool_size=max(1, pool_size // 4))
        self.statement_timeout_ms = statement_timeout_ms

    def _sessions(self, context: DbContext | None = None) -> _ContextConnection:
        return _ContextConnection(self.engine, self.statement_timeout_ms, context)

    def transaction(self, context: DbContext) -> RequestTransaction:
        return RequestTransaction(self._sessions(context), context, database=self)

    def side_connection(self) -> AsyncConnection:
        """A connection of the side pool without a context, for statements that read no tenant data (the
        rate-limit bucket): taken while a request holds a connection of the main pool, so never from it. Not
        pinged: a caller retries once when its first statement finds the connection dropped."""
        return self._side_engine.connect()

    def side_transaction(self, context: DbContext) -> RequestTransaction:
        """A short transaction beside a request's, with the same context, that commits on its own."""
        return RequestTransaction(_ContextConnection(self._side_engine, self.statement_timeout_ms, context), context)

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self._side_engine.dispose()


class RequestTransaction:
    """One request's transaction: commits when the block ends cleanly, rolls back otherwise.

    The driver's errors leave it mapped to db/errors.py's classes: every statement, savepoint and the commit.

    graphql-core resolves sibling fields concurrently and cancels the pending ones when a non-null sibling
    fails. One connection must not serve two tasks at once, and a statement cancelled half-way leaves its
    connection unusable, so every statement runs in its own task that holds the lock and is shielded from
    the caller's cancellation; the block's end waits for those tasks before it commits or rolls back.
    """

    def __init__(self, session: _ContextConnection, context: DbContext, *, database: Database | None = None) -> None:
        self._session = session
        self._database = database
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._sealed = False
        self.context = context

    async def __aenter__(self) -> RequestTransaction:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closed = True
        await self._settle()
        async with self._lock:
            try:
                if exc_type is None:
                    try:
                        with mapped_errors():  # a deferred constraint or trigger refuses the rows here
                            await self._session.commit()
                    except BaseException:
                        with contextlib.suppress(Exception):  # the commit's own error is the one to report
                            await self._session.rollback()
                        raise
                else:
                    await self._session.rollback()
            finally:
                await self._session.close()

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> Result[*tuple[Any, ...]]:
        """`params` as a sequence of mappings runs the statement once per mapping (executemany)."""
        return await self._shielded(self._session.execute(statement, params))

    async def fetch(self, query: CompiledQuery, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a statement compiled once (db/compiled.py), as tuples, on the same terms as `execute`:
        the context bound first, one statement at a time, errors mapped."""
        return await self._shielded(self._session.fetch(query, params or {}))

    async def write_alone(self, statements: Sequence[tuple[CompiledQuery, Mapping[str, Any]]]) -> None:
        """`statements` (compiled once) as this transaction's whole work, committed in one round trip with its
        BEGIN and context: for a side transaction that only writes (the grant-read audit). Only before any
        other statement; errors mapped, and the block's end rolls the transaction back."""
        await self._shielded(self._session.write_alone(statements))

    async def open_request(self, user: TokenUser) -> dict[str, Any]:
        """Provision the token's user, resolve their membership and bind both, with BEGIN, in the transaction's
        first round trip (app.open_request, policies/sql/0019_request_context.sql); its row, by column name.
        Only as the first statement of a transaction that runs for nobody yet; refusals arrive as DBAPIError
        with the function's SQLSTATE (28000: no user for the token, RP403: not a member), nothing bound."""
        if self._sealed or self.context != NOBODY or self._session.begun:
            raise MissingContext("a request opens once, as its transaction's first statement")
        params = {
            "issuer": user.issuer,
            "subject": user.subject,
            "email": user.trusted_email,
            "name": user.name,
            "tenant": user.tenant_slug,
            "timeout": self._session.timeout_ms,
        }
        row = await self._shielded(self._session.open(_OPEN_REQUEST, params))
        context = DbContext(user_id=row["user_id"], tenant_id=row["tenant_id"])
        self._session.context = context
        self.context = context
        return row

    async def narrow(self, context: DbContext) -> None:
        """Re-bind the open transaction to `context` as its principal becomes known (resolvers/common/request.py):
        from nobody to a user, or from a user to that user acting for a tenant; never to another user, and
        never once :meth:`seal` was called (before any of the request's own work runs)."""
        current = self.context
        if self._sealed:
            raise MissingContext("the request's context is fixed once its work began")
        if current != NOBODY and (current.user_id != context.user_id or current.tenant_id is not None):
            raise MissingContext("a transaction's context only narrows: nobody → user → user acting for a tenant")
        await self._shielded(self._session.rebind(context))
        self.context = context

    def seal(self) -> None:
        """From now on the context is what it is: the request's work runs."""
        self._sealed = True

    async def rollback(self) -> None:
        await self._shielded(self._session.rollback())

    def savepoint(self) -> _Savepoint:
        """A nested block whose failure undoes only its own statements (one mutation among several)."""
        return _Savepoint(self)

    def aside(self) -> RequestTransaction:
        """A separate transaction for the same context, committed when its block ends, whatever becomes of
        this one (the audit of granted reads, resolvers/common/audit.py)."""
        if self._database is None:
            raise RuntimeError("a side transaction cannot open another one")
        return self._database.side_transaction(self.context)

    async def _shielded(self, work: Awaitable[T]) -> T:
        if self._closed:
            if inspect.iscoroutine(work):
                work.close()
            raise TransactionClosed("the request's transaction has ended")
        task = asyncio.ensure_future(self._locked(work))
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    async def _locked(self, work: Awaitable[T]) -> T:
        # Mapped inside the task: a caller sees the mapped error, never the driver's, whichever statement
        # (an execute, a savepoint's begin or release) raised it.
        async with self._lock:
            with mapped_errors():
                return await work

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here: a cancelled caller never awaits it

    async def _settle(self) -> None:
        """Let statements whose callers were cancelled finish, so the connection is idle again."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


class _Savepoint:
    def __init__(self, tx: RequestTransaction) -> None:
        self._tx = tx
        self._nested: AsyncTransaction | None = None

    async def __aenter__(self) -> None:
        self._nested = await self._tx._shielded(self._begin())

    async def _begin(self) -> AsyncTransaction:
        return await self._tx._session.begin_nested()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._nested is None:
            raise RuntimeError("the savepoint block was not entered")
        if exc_type is None:
            await self._tx._shielded(self._nested.commit())
        else:
            await self._tx._shielded(self._nested.rollback())
