"""GraphQL subscriptions over WebSocket on /graphql: the graphql-transport-ws protocol, nothing else.

    handshake   the Origin must be absent (not a browser), one of ROUNDPOOL_CORS_ORIGINS, or the server's own;
                the client must offer the `graphql-transport-ws` subprotocol; otherwise the handshake is refused
    connection_init {"authorization": "Bearer <token>", "tenant": "<slug>"?}: the same token check and
                principal resolution as HTTP; no or a bad token closes 4401, a tenant that is not yours 4403,
                no connection_init in time 4408
    subscribe   subscriptions only (queries and mutations go over HTTP); each runs with its own context and
                polls in its own transactions; over the per-connection limit, or the tenant's rate limit, the
                operation gets one `error` message and the connection stays open
    idle        the server pings at half the idle timeout; a connection from which nothing (not even a pong)
                arrived for the whole idle timeout is closed 4408
    expiry      the credentials are checked again before every subscribe; when the token's `exp` passes, every
                running subscription gets an UNAUTHENTICATED `error` and the connection closes 4401

Close codes: 4400 a malformed message, 4401 unauthenticated (or subscribe before connection_ack), 4403
forbidden, 4408 timeouts, 4409 a duplicate operation id, 4429 a second connection_init, 4500 a fault of ours,
1009 a message larger than ROUNDPOOL_MAX_BODY_BYTES.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.http.websocket_origin import is_same_origin, normalize_origin
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from captable.ocf.limits import JsonTooDeep, load_json
from policies.principal import Principal
from resolvers.common.rate_limit import RateLimited, bucket_key
from resolvers.common.subscriptions import SubscriptionContext
from schema.authentication import AuthenticationFailed, TenantNotAllowed, authenticate, claims_from_header
from schema.execution import GraphQLRequest, masked_error, response_body
from schema.logs import request_id_var
from schema.settings import Settings
from schema.trusted_documents import Refused

if TYPE_CHECKING:
    from schema.app import _Runtime

PROTOCOL = "graphql-transport-ws"
_MAX_OPERATION_ID = 128
_logger = logging.getLogger("roundpool.websocket")


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SubscriptionLimits:
    max_per_connection: int
    poll_interval_s: float
    max_lifetime_s: float
    init_timeout_s: float
    idle_timeout_s: float
    max_message_bytes: int
    max_json_depth: int

    @classmethod
    def of(cls, settings: Settings) -> SubscriptionLimits:
        return cls(
            max_per_connection=settings.subscription_max_per_connection,
            poll_interval_s=settings.subscription_poll_interval_s,
            max_lifetime_s=settings.subscription_max_lifetime_s,
            init_timeout_s=settings.subscription_init_timeout_s,
            idle_timeout_s=settings.subscription_idle_timeout_s,
            max_message_bytes=settings.max_body_bytes,
            max_json_depth=settings.max_json_depth,
        )


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Browsers send no CORS preflight for a WebSocket: the Origin check is what stops a page elsewhere from
    opening one. No Origin is not a browser (and the token travels in connection_init, never as a cookie)."""
    if origin is None:
        return True
    normalized = normalize_origin(origin)
    if normalized is None:  # "null": sandboxed frames, file:// pages
        return False
    return normalized in {normalize_origin(o) for o in allowed} or is_same_origin(origin, host)


async def graphql_ws(websocket: WebSocket) -> None:
    runtime: _Runtime = websocket.app.state.runtime
    if not origin_allowed(
        websocket.headers.get("origin"), websocket.headers.get("host"), runtime.settings.cors_origins
    ):
        await websocket.close(code=4403, reason="origin not allowed")  # before accept: the handshake gets a 403
        return
    if PROTOCOL not in websocket.scope.get("subprotocols", []):
        await websocket.close(code=4406, reason=f"only the {PROTOCOL} subprotocol is served")
        return
    request_id_var.set(uuid.uuid4().hex)  # this connection's task only: its operations inherit it
    await websocket.accept(subprotocol=PROTOCOL)
    await _Connection(websocket, runtime, SubscriptionLimits.of(runtime.settings)).serve()


class _Connection:
    def __init__(self, websocket: WebSocket, runtime: _Runtime, limits: SubscriptionLimits) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.limits = limits
        self.principal: Principal | None = None
        self.credentials: Any = {}  # the connection_init payload, checked by _authenticate
        self.expires_at: float | None = None  # the token's exp (Unix time)
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def serve(self) -> None:
        try:
            await self._initialise()
            await self._listen()
        except _Close as close:
            await self._close(close.code, close.reason)
        except WebSocketDisconnect:
            pass
        except Exception as error:  # the database is down, say: the client gets the request id to quote
            request_id = request_id_var.get()
            _logger.error("subscription connection failed", exc_info=error, extra={"request_id": request_id})
            await self._close(4500, f"Internal server error (request id {request_id})")
        finally:
            await self._cancel_all()

    async def _initialise(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.init_timeout_s
        while True:
            message = await self._receive(deadline - loop.time())
            if message is None:
                raise _Close(4408, "Connection initialisation timeout")
            kind = message.get("type")
            if kind == "ping":
                await self._send({"type": "pong"})
            elif kind == "pong":
                continue
            elif kind == "subscribe":
                raise _Close(4401, "Unauthorized")
            elif kind == "connection_init":
                payload = message.get("payload")
                self.credentials = {} if payload is None else payload
                await self._authenticate()
                await self._send({"type": "connection_ack"})
                return
            else:
                raise _Close(4400, f"unknown message type {kind!r}")

    async def _authenticate(self) -> None:
        """The connection_init credentials, checked as HTTP checks a request's: at connection_init and again
        before every subscription (a token expires, a membership or role changes)."""
        payload = self.credentials
        if not isinstance(payload, dict):
            raise _Close(4400, "the connection_init payload must be an object")
        authorization, tenant = payload.get("authorization"), payload.get("tenant")
        if not isinstance(authorization, str | None) or not isinstance(tenant, str | None):
            raise _Close(4400, "'authorization' and 'tenant' must be strings")
        try:
            claims = claims_from_header(authorization, self.runtime.verifier)
            if claims is None:
                raise AuthenticationFailed("send 'authorization': 'Bearer <token>' in connection_init")
            self.expires_at = claims.expires_at
            if self._seconds_left() <= 0:  # within the verifier's leeway: too late for a long-lived connection
                raise AuthenticationFailed("the token expired")
            self.principal = await authenticate(self.runtime.database, claims, tenant or claims.tenant)
        except AuthenticationFailed as error:
            raise _Close(4401, _reason(str(error))) from error
        except TenantNotAllowed as error:
            raise _Close(4403, _reason(str(error))) from error

    def _seconds_left(self) -> float:
        return math.inf if self.expires_at is None else self.expires_at - time.time()

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while True:
            if self._seconds_left() <= 0:
                expired = "the token expired; connect again with a fresh one"
                await self._end_all(expired, "UNAUTHENTICATED")
                raise _Close(4401, expired)
            message = await self._receive(min(self.limits.idle_timeout_s / 2, self._seconds_left()))
            if message is None:
                if self._seconds_left() <= 0:
                    continue  # closed above
                if loop.time() - heard >= self.limits.idle_timeout_s:
                    raise _Close(4408, "Connection idle timeout")
                await self._send({"type": "ping"})
                continue
            heard = loop.time()
            kind = message.get("type")
            if kind == "ping":
                await self._send({"type": "pong"})
            elif kind == "pong":
                continue
            elif kind == "connection_init":
                raise _Close(4429, "Too many initialisation requests")
            elif kind == "subscribe":
                await self._subscribe(message)
            elif kind == "complete":
                self._complete(message.get("id"))
            else:
                raise _Close(4400, f"unknown message type {kind!r}")

    async def _receive(self, wait_s: float) -> dict[str, Any] | None:
        """The next message, or None when `wait_s` passed first."""
        try:
            raw = await asyncio.wait_for(self.websocket.receive(), max(wait_s, 0))
        except TimeoutError:
            return None
        if raw["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(raw.get("code", 1000))
        text = raw.get("text")
        if text is None:
            raise _Close(4400, "messages must be text")
        if len(text.encode()) > self.limits.max_message_bytes:
            raise _Close(1009, f"a message exceeds {self.limits.max_message_bytes} bytes")
        try:
            message = load_json(text, self.limits.max_json_depth)
        except (JsonTooDeep, ValueError):
            raise _Close(4400, "messages must be JSON objects of a bounded depth") from None
        if not isinstance(message, dict):
            raise _Close(4400, "messages must be JSON objects")
        return message

    async def _subscribe(self, message: dict[str, Any]) -> None:
        operation_id, payload = message.get("id"), message.get("payload")
        if not isinstance(operation_id, str) or not 0 < len(operation_id) <= _MAX_OPERATION_ID:
            raise _Close(4400, f"a subscribe needs an 'id' of 1 to {_MAX_OPERATION_ID} characters")
        request = _request(payload)
        if request is None:
            raise _Close(
                4400,
                "a subscribe payload needs a string 'query', and optional object 'variables' and "
                "string 'operationName'",
            )
        if operation_id in self.operations:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        verdict = self.runtime.trusted.resolve(request.query, None, None)  # trusted only: before any parse
        if isinstance(verdict, Refused):
            await self._error(operation_id, verdict.message, verdict.code)
            return
        if len(self.operations) >= self.limits.max_per_connection:
            limit = self.limits.max_per_connection
            await self._error(
                operation_id,
                f"at most {limit} subscriptions per connection (ROUNDPOOL_SUBSCRIPTION_"
                "MAX_PER_CONNECTION); complete one first",
                "SUBSCRIPTION_LIMIT",
            )
            return
        limiter = self.runtime.rate_limiter
        if limiter is not None:
            client = self.websocket.client
            try:
                await limiter.take(bucket_key(self.principal, client.host if client else None))
            except RateLimited as limited:
                await self._error(operation_id, str(limited), limited.code, retryAfter=limited.retry_after)
                return
        await self._authenticate()
        self.operations[operation_id] = asyncio.create_task(self._run(operation_id, request))

    async def _run(self, operation_id: str, request: GraphQLRequest) -> None:
        request_id = request_id_var.get()
        context = SubscriptionContext(
            request_id=request_id,
            runtime=self.runtime.requests,
            principal=self.principal,
            poll_interval_s=self.limits.poll_interval_s,
            max_lifetime_s=self.limits.max_lifetime_s,
        )
        try:
            stream = await self.runtime.schema.subscribe(
                request.query,
                variable_values=request.variables,
                context_value=context,
                operation_name=request.operation_name,
            )
            async with aclosing(stream):
                first = True
                async for result in stream:
                    body = response_body(result, request_id)
                    if first and isinstance(result, PreExecutionError):
                        await self._send({"id": operation_id, "type": "error", "payload": body["errors"]})
                        return
                    first = False
                    await self._send({"id": operation_id, "type": "next", "payload": body})
            await self._send({"id": operation_id, "type": "complete"})
        except (WebSocketDisconnect, RuntimeError):  # the socket went away while sending
            pass
        except Exception as error:  # a fault of ours outside the resolvers: masked like any other
            _logger.error("subscription failed", exc_info=error, extra={"request_id": request_id})
            with suppress(WebSocketDisconnect, RuntimeError):
                await self._send({"id": operation_id, "type": "error", "payload": [masked_error(request_id)]})
        finally:
            if self.operations.get(operation_id) is asyncio.current_task():
                del self.operations[operation_id]

    def _complete(self, operation_id: Any) -> None:
        task = self.operations.pop(operation_id, None) if isinstance(operation_id, str) else None
        if task is not None:
            task.cancel()

    async def _cancel_all(self) -> list[str]:
        """Stops every running operation; returns their ids."""
        running = dict(self.operations)
        self.operations.clear()
        for task in running.values():
            task.cancel()
        for task in running.values():
            with suppress(asyncio.CancelledError, Exception):
                await task
        return list(running)

    async def _end_all(self, message: str, code: str) -> None:
        for operation_id in await self._cancel_all():
            await self._error(operation_id, message, code)

    async def _error(self, operation_id: str, message: str, code: str, **extensions: Any) -> None:
        payload = [{"message": message, "extensions": {"code": code, "requestId": request_id_var.get(), **extensions}}]
        await self._send({"id": operation_id, "type": "error", "payload": payload})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(message)

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code=code, reason=reason)


def _request(payload: Any) -> GraphQLRequest | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    variables, operation_name = payload.get("variables"), payload.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    return GraphQLRequest(query=payload["query"], variables=variables, operation_name=operation_name)


def _reason(text: str) -> str:
    """A close reason fits in a control frame: 123 bytes of UTF-8."""
    encoded = text.encode()
    return text if len(encoded) <= 123 else encoded[:120].decode(errors="ignore") + "…"
