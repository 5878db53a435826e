"""The engine and the per-request transaction.

Every transaction's first statement binds the request's context with `set_config(…, true)` (transaction-local,
so nothing survives on a pooled connection). It runs in an `after_begin` hook, so no code path can forget it;
a session without a context refuses to begin.
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

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import Executable

from db.errors import MissingContext, TransactionClosed
from db.location import sqlalchemy_url

T = TypeVar("T")

_SET_CONTEXT = text(
    "select set_config('app.user_id', :user_id, true), set_config('app.tenant_id', :tenant_id, true),"
    " set_config('statement_timeout', :timeout, true)"
)


@dataclass(frozen=True)
class DbContext:
    """Who the statements run for: the user, and the acting tenant if one was chosen."""

    user_id: UUID
    tenant_id: UUID | None = None


# Before anyone is known (a token's user being provisioned): a context that matches no user, so every policy
# sees nothing.
NOBODY = DbContext(user_id=UUID(int=0))


class _ContextSession(Session):
    pass


@event.listens_for(_ContextSession, "after_begin")
def _bind_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    context = session.info.get("context")
    if not isinstance(context, DbContext):
        raise MissingContext("a transaction began without a request context")
    connection.execute(
        _SET_CONTEXT,
        {
            "user_id": str(context.user_id),
            "tenant_id": str(context.tenant_id) if context.tenant_id else "",
            "timeout": str(session.info["statement_timeout_ms"]),
        },
    )


class Database:
    """The app role's engine; created once in the ASGI lifespan (or a CLI command) and disposed there."""

    def __init__(self, app_url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5_000) -> None:
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(app_url), pool_size=pool_size, max_overflow=0, pool_pre_ping=True
        )
        self._sessions = async_sessionmaker(self.engine, sync_session_class=_ContextSession, expire_on_commit=False)
        # Side transactions (see RequestTransaction.aside) come from a pool of their own: a request holding a
        # connection of the main pool never waits for a second one from it, which could exhaust it for good.
        self._side_engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(app_url), pool_size=max(1, pool_size // 4), max_overflow=0, pool_pre_ping=True
        )
        self._side_sessions = async_sessionmaker(
            self._side_engine, sync_session_class=_ContextSession, expire_on_commit=False
        )
        self.statement_timeout_ms = statement_timeout_ms

    def transaction(self, context: DbContext) -> RequestTransaction:
        session = self._sessions()
        session.info["context"] = context
        session.info["statement_timeout_ms"] = self.statement_timeout_ms
        return RequestTransaction(session, context, database=self)

    def side_connection(self) -> AsyncConnection:
        """A connection of the side pool without a context, for statements that read no tenant data (the
        rate-limit bucket): taken while a request holds a connection of the main pool, so never from it."""
        return self._side_engine.connect()

    def side_transaction(self, context: DbContext) -> RequestTransaction:
        """A short transaction beside a request's, with the same context, that commits on its own."""
        session = self._side_sessions()
        session.info["context"] = context
        session.info["statement_timeout_ms"] = self.statement_timeout_ms
        return RequestTransaction(session, context)

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self._side_engine.dispose()


class RequestTransaction:
    """One request's transaction: commits when the block ends cleanly, rolls back otherwise.

    graphql-core resolves sibling fields concurrently and cancels the pending ones when a non-null sibling
    fails. One AsyncSession must not serve two tasks at once, and a statement cancelled half-way leaves its
    connection unusable, so every statement runs in its own task that holds the lock and is shielded from
    the caller's cancellation; the block's end waits for those tasks before it commits or rolls back.
    """

    def __init__(self, session: AsyncSession, context: DbContext, *, database: Database | None = None) -> None:
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
        params = {
            "user_id": str(context.user_id),
            "tenant_id": str(context.tenant_id) if context.tenant_id else "",
            "timeout": str(self._session.info["statement_timeout_ms"]),
        }
        await self.execute(_SET_CONTEXT, params)
        # The hook binds what `info` holds whenever the session begins again (after a rollback).
        self._session.info["context"] = context
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
        async with self._lock:
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
        self._nested: AsyncSessionTransaction | None = None

    async def __aenter__(self) -> None:
        self._nested = await self._tx._shielded(self._begin())

    async def _begin(self) -> AsyncSessionTransaction:
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
