"""schema/http_protocol.py: uvicorn's httptools protocol with each response's head written with its body.

The protocol is driven as uvicorn drives it (connection_made, data_received) over a transport that records
each write, so the test sees the system calls a response costs and the bytes a client receives.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from schema.http_protocol import CoalescingProtocol
from schema.serving import _options
from schema.settings import Settings


class _RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_after: int | None = None  # writes before the close

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        if not self.closed:
            self.closed, self.closed_after = True, len(self.writes)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)


async def _exchange(app: Any, request: bytes) -> _RecordingTransport:
    config = Config(app=app, http=CoalescingProtocol, log_config=None, lifespan="off")
    config.load()
    protocol = CoalescingProtocol(config=config, server_state=ServerState(), app_state={})
    transport = _RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    while protocol.tasks:
        await asyncio.gather(*protocol.tasks)
    if protocol.timeout_keep_alive_task is not None:
        protocol.timeout_keep_alive_task.cancel()
    return transport


def _app(*bodies: bytes, length: bool = True) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        size = str(sum(len(b) for b in bodies)).encode()
        headers = [(b"content-type", b"application/json")] + ([(b"content-length", size)] if length else [])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, body in enumerate(bodies):
            await send({"type": "http.response.body", "body": body, "more_body": i < len(bodies) - 1})

    return app


_GET = b"GET /graphql HTTP/1.1\r\nhost: x\r\n\r\n"


@pytest.mark.asyncio
async def test_a_response_is_one_write_of_its_head_and_body() -> None:
    transport = await _exchange(_app(b'{"data":{}}'), _GET)

    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 11" in head.split(b"\r\n")
    assert body == b'{"data":{}}'
    assert not transport.closed  # kept alive


@pytest.mark.asyncio
async def test_pipelined_requests_each_get_one_write() -> None:
    transport = await _exchange(_app(b"{}"), _GET * 3)

    assert len(transport.writes) == 3
    assert all(w.startswith(b"HTTP/1.1 200 OK\r\n") and w.endswith(b"\r\n\r\n{}") for w in transport.writes)


@pytest.mark.asyncio
async def test_a_streamed_body_sends_its_head_with_the_first_part_and_the_rest_as_they_come() -> None:
    transport = await _exchange(_app(b"first", b"second", length=False), _GET)

    assert len(transport.writes) == 2
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in transport.writes[0]
    assert transport.writes[0].endswith(b"\r\n\r\n5\r\nfirst\r\n")
    assert transport.writes[1] == b"6\r\nsecond\r\n0\r\n\r\n"


@pytest.mark.asyncio
async def test_a_head_request_still_gets_its_head() -> None:
    transport = await _exchange(_app(b"{}"), b"HEAD /graphql HTTP/1.1\r\nhost: x\r\n\r\n")

    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n")


@pytest.mark.asyncio
async def test_a_closing_response_is_written_before_the_connection_closes() -> None:
    request = b"GET /graphql HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    transport = await _exchange(_app(b"{}"), request)

    assert len(transport.writes) == 1
    assert b"connection: close" in transport.writes[0]
    assert transport.writes[0].endswith(b"\r\n\r\n{}")
    assert transport.closed_after == 1


def test_roundpool_serve_uses_the_protocol() -> None:
    assert _options(Settings())["http"] is CoalescingProtocol
