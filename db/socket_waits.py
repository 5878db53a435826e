"""One reader on a database connection's socket for all of its waits, and the connection class that uses it.

psycopg's asyncio wait (`psycopg.waiting.wait_async`) registers a reader on the socket for every wait, removes
it afterwards and arms a 0.1 s timer besides. With uvloop a round trip so costs a new poll handle, two or three
`epoll_ctl` calls and a timer handle; a page request makes three round trips. Here the reader is registered at
the connection's first wait and stays: each wait is one future, resolved by the reader.

A reader left registered while nobody waits would be called on every turn of the loop once the socket is
readable (a notice, the server closing the connection), so it removes itself then; the next wait registers it
again and reads what arrived. (A callback with nobody waiting whose socket is no longer readable only saw what
the last wait has read since: the reader stays.) It is removed before the connection closes, so no
registration outlives its file descriptor. Waits for writing (an outgoing buffer full, rare) get a writer of
their own for the wait.
"""

from __future__ import annotations

import asyncio
import select
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from psycopg.pq import TransactionStatus
from psycopg.waiting import Ready, Wait

RV = TypeVar("RV")

_READY_R = Ready.R
_READY_W = Ready.W
_READY = {int(ready): ready for ready in Ready}  # an enum by value is a call through EnumType.__call__


class SocketWaits:
    """The waits of one connection's socket: psycopg's generators driven to their end on the running loop."""

    def __init__(self, fileno: int) -> None:
        self._fileno = fileno
        self._loop: asyncio.AbstractEventLoop | None = None  # where the reader is registered; None: nowhere
        self._waiter: asyncio.Future[None] | None = None
        self._wanted = 0
        self._ready = 0
        self._poll: select.poll | None = None  # for the rare callback with nobody waiting

    async def wait(self, gen: PQGen[RV]) -> RV:
        """`gen`'s result, waiting on the socket whenever it asks to."""
        try:
            try:
                state = next(gen)
                while True:
                    state = gen.send(await self._until(state))
            except StopIteration as done:
                result: RV = done.value
                return result
            except OSError as error:  # the socket went away under the wait (as psycopg reports it)
                raise psycopg.OperationalError("connection socket closed") from error
        except BaseException:
            # libpq closes the socket of a connection it finds lost: no registration may outlive it.
            self.stop()
            raise

    def stop(self) -> None:
        """Remove the reader (before the socket closes, or to leave a loop); the next wait registers it again."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._fileno)

    def _readable_now(self) -> bool:
        poll = self._poll
        if poll is None:
            poll = self._poll = select.poll()
            poll.register(self._fileno, select.POLLIN)
        return bool(poll.poll(0))

    async def _until(self, state: Wait) -> Ready:
        # A registered reader's loop is the running one: a psycopg connection serves one loop only (its lock).
        loop = self._loop
        if loop is None:
            loop = asyncio.get_running_loop()
            loop.add_reader(self._fileno, self._wake, _READY_R)
            self._loop = loop
        writes = bool(state & Wait.W)
        self._wanted = (_READY_R if state & Wait.R else 0) | (_READY_W if writes else 0)
        self._ready = 0
        waiter = self._waiter = loop.create_future()
        if writes:
            loop.add_writer(self._fileno, self._wake, _READY_W)
        try:
            await waiter
        finally:
            self._waiter = None
            if writes:
                loop.remove_writer(self._fileno)
        return _READY[self._ready]

    def _wake(self, ready: Ready) -> None:
        waiter = self._waiter
        if waiter is None:
            # Nobody waiting. Either the loop polled before the last wait read what woke it (asyncio's loop runs
            # the woken task before this callback, uvloop does not), or something came unasked: only then is the
            # socket still readable, and the reader stops until the next wait, which reads it.
            if self._readable_now():
                self.stop()
            return
        self._ready |= ready & self._wanted
        if self._ready and not waiter.done():
            waiter.set_result(None)


class WaitingConnection(psycopg.AsyncConnection[Any]):
    """psycopg's asyncio connection whose waits share one reader on its socket (:class:`SocketWaits`).

    Timed waits keep psycopg's own. A wait interrupted while a statement runs (a cancelled task, Ctrl-C) is
    handled as psycopg handles it: the statement is cancelled on the server and waited for up to 5 s, and the
    connection is closed if that fails (its state is unknown, the pool then discards it)."""

    _socket_waits: SocketWaits | None = None

    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = 0.1,
        timeout: float | None = None,  # noqa: ASYNC109 (psycopg's signature, overridden)
    ) -> RV:
        waits = self._socket_waits
        if timeout is not None:
            # psycopg's wait registers its own reader, replacing this one's, and removes it after.
            if waits is not None:
                waits.stop()
            return await super().wait(gen, interval, timeout)
        if waits is None:
            waits = self._socket_waits = SocketWaits(self.pgconn.socket)
        try:
            return await waits.wait(gen)
        except (asyncio.CancelledError, KeyboardInterrupt):
            if self.pgconn.transaction_status == TransactionStatus.ACTIVE:
                try:
                    await self.cancel_safe(timeout=5.0)
                    await super().wait(gen, interval, timeout=5.0)
                except psycopg.errors.QueryCanceled:
                    pass  # as expected
                except BaseException:  # not cancelled in time, interrupted again, or the cancel failed
                    self.pgconn.finish()
            raise

    def __del__(self, *args: Any) -> None:
        # Collected without close(): the reader goes before the socket does (the driver's handle closes it).
        if self._socket_waits is not None:
            self._socket_waits.stop()
        super().__del__(*args)

    async def close(self) -> None:
        if self._socket_waits is not None:
            self._socket_waits.stop()
        await super().close()
