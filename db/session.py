"""The engine and the per-request transaction.

Every transaction's first statement binds the request's context with `set_config(…, true)` (transaction-local,
so nothing survives on a pooled connection). Statements run through SQLAlchemy Core on one `AsyncConnection`
(the ORM session's unit of work cost a third of a request and bought nothing here); the connection wrapper binds
the context whenever a transaction begins, so no code path can forget it, and one without a context refuses
before it takes a connection.
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

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction, create_async_engine
from sqlalchemy.sql import Executable

from db.errors import MissingContext, TransactionClosed, mapped_errors
from db.location import sqlalchemy_url

T = TypeVar("T")

_SET_CONTEXT = text(
    "select set_config('app.user_id', :user_id, true), set_config('app.tenant_id', :tenant_id, true),"
    " set_config('statement_timeout', :timeout, true)"
)

# No pre-ping (a round trip per checkout): a connection the server dropped fails on the transaction's first
# statement, the set_config, which nothing depends on yet, so it is retried once on a fresh connection
# (SQLAlchemy invalidates the dead one and every pooled connection older than it). Recycling bounds how long an
# idle connection is trusted.
_POOL_RECYCLE_S = 1_800


@dataclass(frozen=True)
class DbContext:
    """Who the statements run for: the user, and the acting tenant if one was chosen."""

    user_id: UUID
    tenant_id: UUID | None = None


# Before anyone is known (a token's user being provisioned): a context that matches no user, so every policy
# sees nothing.
NOBODY = DbContext(user_id=UUID(int=0))


class _ContextConnection:
    """A pooled connection, taken at the first statement, whose every transaction begins with the set_config of
    `context`; with no context it refuses to begin."""

    def __init__(self, engine: AsyncEngine, statement_timeout_ms: int, context: DbContext | None = None) -> None:
        self._engine = engine
        self._timeout = str(statement_timeout_ms)
        self.context = context
        self._conn: AsyncConnection | None = None

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    ) -> Result[*tuple[Any, ...]]:
        conn = await self._begun()
        return await conn.execute(statement, params)

    async def begin_nested(self) -> AsyncTransaction:
        conn = await self._begun()
        return await conn.begin_nested()

    async def commit(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            await self._conn.commit()

    async def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            await self._conn.rollback()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def _begun(self) -> AsyncConnection:
        context = self.context
        if not isinstance(context, DbContext):
            raise MissingContext("a transaction began without a request context")
        if self._conn is None:
            self._conn = await self._engine.connect()
        if not self._conn.in_transaction():
            await self._bind(self._conn, context)
        return self._conn

    async def _bind(self, conn: AsyncConnection, context: DbContext) -> None:
        params = _context_params(context, self._timeout)
        try:
            await conn.execute(_SET_CONTEXT, params)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            await conn.rollback()
            await conn.execute(_SET_CONTEXT, params)  # reconnects: the first statement ran nothing yet

    async def rebind(self, context: DbContext) -> None:
        """Bind `context` in the open transaction, or let the next one begin with it (no round trip)."""
        if self._conn is not None and self._conn.in_transaction():
            await self._conn.execute(_SET_CONTEXT, _context_params(context, self._timeout))
        self.context = context


def _context_params(context: DbContext, timeout: str) -> dict[str, str]:
    return {
        "user_id": str(context.user_id),
        "tenant_id": str(context.tenant_id) if context.tenant_id else "",
        "timeout": timeout,
    }


class Database:
    """The app role's engine; created once in the ASGI lifespan (or a CLI command) and disposed there."""

    def __init__(self, app_url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5_000) -> None:
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(app_url), pool_size=pool_size, max_overflow=0, pool_recycle=_POOL_RECYCLE_S
        )
        # Side transactions (see RequestTransaction.aside) come from a pool of their own: a request holding a
        # connection of the main pool never waits for a second one from it, which could exhaust it for good.
        # The side pool is small and rarely used, so a connection there may have idled long: it keeps the ping.
        self._side_engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(app_url), pool_size=max(1, pool_size // 4), max_overflow=0, pool_pre_ping=True
        )
        self.statement_timeout_ms = statement_timeout_ms

    def _sessions(self, context: DbContext | None = None) -> _ContextConnection:
        return _ContextConnection(self.engine, self.statement_timeout_ms, context)

    def transaction(self, context: DbContext) -> RequestTransaction:
        return RequestTransaction(self._sessions(context), context, database=self)

    def side_connection(self) -> AsyncConnection:
        """A connection of the side pool without a context, for statements that read no tenant data (the
        rate-limit bucket): taken while a request holds a connection of the main pool, so never from it."""
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
