"""uvicorn's httptools protocol, writing a response's head together with the first part of its body.

uvicorn writes the status line and headers when the app sends `http.response.start`, and the body when it
sends `http.response.body`: two `send` system calls a response, and on loopback two segments the client wakes
up for. Here the head is held until the first body message and written with it in one call; the bytes on the
wire are the same. A HEAD response, which has no body to write, gets its head when its body message comes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGI3Application, ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _Held:
    """Stands in for the transport while uvicorn writes a head: keeps what it is given."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class _Prefixed:
    """Stands in for the transport while uvicorn writes the first body part: `head` goes out with the first
    write, or before a close when nothing is written."""

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self._transport = transport
        self._head: bytes | None = head

    def write(self, data: bytes) -> None:
        head, self._head = self._head, None
        self._transport.write(data if head is None else head + data)

    def flush(self) -> None:
        if self._head is not None:
            self.write(b"")

    def close(self) -> None:
        self.flush()
        self._transport.close()


class CoalescingCycle(RequestResponseCycle):
    """One request's cycle; the one difference from uvicorn's is when the head is written."""

    _head: bytes | None = None

    async def send(self, message: ASGISendEvent) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        # uvicorn's send does not await once the flow is not paused, so the transport it writes to below is
        # seen by it alone, and restored before anything else runs.
        transport: Any = self.transport
        if message["type"] == "http.response.start" and not self.response_started:
            held = _Held()
            self.transport = held  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self._head = held.data or None  # nothing held when the client had gone
            return
        head, self._head = self._head, None
        if head is None:
            await super().send(message)
            return
        prefixed = _Prefixed(transport, head)
        self.transport = prefixed  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
        prefixed.flush()


class CoalescingProtocol(HttpToolsProtocol):
    """`uvicorn.run(http=CoalescingProtocol)`: httptools, with :class:`CoalescingCycle` for every request."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn builds its cycle by name (on_headers_complete), and every cycle, pipelined ones included,
        # starts here, before its task runs: it becomes the subclass, whose attributes are the same.
        cycle.__class__ = CoalescingCycle
        super()._start_asgi_task(cycle, app)
