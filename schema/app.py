"""The Starlette application: POST /graphql (GraphiQL on GET in development, subscriptions over a WebSocket),
/healthz, /readyz, and /metrics when ROUNDPOOL_METRICS_TOKEN is set."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from captable.ocf.limits import JsonTooDeep, load_json
from cost import CostStore
from db.role_check import UnsafeAppRole, check_database_role
from db.session import Database
from policies.principal import Principal
from policies.tokens import TokenVerifier
from resolvers.common.principals import Credentials
from resolvers.common.rate_limit import RateLimited, RateLimiter, bucket_key
from resolvers.common.request import RequestRuntime
from resolvers.job_recovery import JobTimings
from resolvers.jobs import in_process_worker
from schema.authentication import AuthenticationFailed, TenantNotAllowed, claims_from_header
from schema.build import Limits, RoundpoolSchema, build_schema
from schema.cors import cors_middleware
from schema.execution import GraphQLRequest, execute_request, masked_error
from schema.execution_options import request_runtime
from schema.graphiql import GraphiQLPage, graphiql_page
from schema.heap import freeze_start_up_heap
from schema.json_responses import GraphQLJSONResponse
from schema.logs import request_id_var
from schema.media_types import graphql_status, response_media_type
from schema.metrics import CONTENT_TYPE_LATEST, Metrics, ObservedOperation, OperationNameExtension, observed_operation
from schema.serving import job_worker_lock
from schema.settings import Settings
from schema.tracing import configured_provider, tracing_extension
from schema.trusted_documents import NO_TRUSTED_DOCUMENTS, Refused, TrustedDocuments, TrustedDocumentsInvalid
from schema.websocket import graphql_ws

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

_logger = logging.getLogger("roundpool.http")
_PARSE_INLINE_BYTES = 256 * 1024  # larger bodies (uploads) are parsed on a worker thread


@dataclass
class _Runtime:
    database: Database
    schema: strawberry.Schema
    verifier: TokenVerifier
    settings: Settings
    cost_store: CostStore
    requests: RequestRuntime  # what every request of this process shares (settings read once)
    metrics: Metrics | None = None
    rate_limiter: RateLimiter | None = None
    graphiql: GraphiQLPage | None = None
    trusted: TrustedDocuments = NO_TRUSTED_DOCUMENTS


def token_verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(
        secret=settings.jwt_secret,
        public_key_file=settings.jwt_public_key_file,
        jwks_file=settings.jwt_jwks_file,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )


def schema_for(settings: Settings, observers: Sequence[Callable[[], Any]] = ()) -> strawberry.Schema:
    return build_schema(
        Limits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            introspection=settings.introspection_enabled,
        ),
        observers,
    )


def trusted_documents(settings: Settings, schema: strawberry.Schema) -> TrustedDocuments:
    """ROUNDPOOL_TRUSTED_DOCUMENTS read, checked and pinned in `schema` (schema/trusted_documents.py)."""
    if settings.trusted_documents is None:
        if settings.trusted_documents_only:
            raise TrustedDocumentsInvalid("ROUNDPOOL_TRUSTED_DOCUMENTS_ONLY needs ROUNDPOOL_TRUSTED_DOCUMENTS")
        return NO_TRUSTED_DOCUMENTS
    assert isinstance(schema, RoundpoolSchema)
    return TrustedDocuments.load(settings.trusted_documents, schema, only=settings.trusted_documents_only)


def create_app(
    settings: Settings, app_url: str, *, tracer_provider: TracerProvider | None = None, freeze_heap: bool = False
) -> Starlette:
    """The ASGI app for the app role's DSN `app_url`; the engine lives as long as the lifespan. Spans go to
    `tracer_provider` when given, else to ROUNDPOOL_OTEL_ENDPOINT when set. `freeze_heap`: the process serves
    only this app (`roundpool serve`), so its start-up heap is frozen once the lifespan has built it."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database = Database(app_url, pool_size=settings.pool_size, statement_timeout_ms=settings.statement_timeout_ms)
        try:
            await check_database_role(database)
        except UnsafeAppRole:
            await database.dispose()
            raise
        provider = tracer_provider or configured_provider(settings.otel_endpoint, settings.otel_service_name)
        try:
            runtime = _runtime(settings, database, provider)
        except TrustedDocumentsInvalid:
            await database.dispose()
            raise
        app.state.runtime = runtime
        try:
            async with _embedded_worker(settings, app_url, database, runtime.cost_store):
                if freeze_heap:
                    freeze_start_up_heap()
                yield
        finally:
            await database.dispose()
            if provider is not None and tracer_provider is None:
                provider.shutdown()  # flushes the spans still batched

    routes = [
        Route("/graphql", _graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_ws),  # subscriptions, graphql-transport-ws (schema/websocket.py)
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readyz, methods=["GET"]),
    ]
    if settings.metrics_token:
        routes.append(Route("/metrics", _metrics, methods=["GET"]))
    # The client's address first (what the rate limit and the logs see); then CORS, so that every answer (the
    # request-id middleware's 500 included) carries its headers.
    middleware = [
        Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips),
        *cors_middleware(settings.cors_origins),
        Middleware(RequestIdMiddleware),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def _runtime(settings: Settings, database: Database, provider: TracerProvider | None) -> _Runtime:
    """What the process's requests share, read once from the settings. Raises TrustedDocumentsInvalid."""
    store = CostStore(settings.cost_store_root)
    if store.has_legacy_catalog():  # pre-0008 layout: nothing in it is read until it is split by operator
        _logger.error("cost store %s has the old single-catalog layout; run `roundpool cost migrate-store`", store.root)
    metrics = Metrics(settings.metrics_max_operations) if settings.metrics_token else None
    observers: list[Callable[[], Any]] = [] if provider is None else [tracing_extension(provider)]
    if metrics is not None:
        observers.append(OperationNameExtension)
    schema = schema_for(settings, observers)
    trusted = trusted_documents(settings, schema)
    return _Runtime(
        database,
        schema,
        token_verifier(settings),
        settings,
        store,
        request_runtime(settings, database, store),
        metrics=metrics,
        rate_limiter=RateLimiter(database, settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None,
        graphiql=graphiql_page(settings.graphiql_assets_url) if settings.graphiql_enabled else None,
        trusted=trusted,
    )


@asynccontextmanager
async def _embedded_worker(
    settings: Settings, app_url: str, database: Database, store: CostStore
) -> AsyncIterator[None]:
    """The embedded default has no separate worker process to rely on: one process of N (serve --workers)
    runs the jobs beside the API."""
    if settings.database_url is not None:
        yield
        return
    with job_worker_lock(settings.home) as runs_jobs:
        if not runs_jobs:
            yield
            return
        async with in_process_worker(
            app_url, database, store, JobTimings.of(settings), sources=settings.cost_import_sources
        ):
            yield


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(_refusal(status, code, message).body, status_code=status)


@dataclass
class _Answer:
    body: dict[str, Any]
    status: int | None = None  # None: an execution result, whose status depends on the media type
    headers: dict[str, str] = field(default_factory=dict)


def _refusal(status: int, code: str, message: str, **extra: Any) -> _Answer:
    extensions = {"code": code, "requestId": request_id_var.get(), **extra}
    return _Answer({"errors": [{"message": message, "extensions": extensions}]}, status)


async def _graphql(request: Request) -> Response:
    runtime: _Runtime = request.app.state.runtime
    if request.method == "GET":
        if runtime.graphiql is not None and "query" not in request.query_params:
            page = runtime.graphiql
            return HTMLResponse(page.html, headers={"content-security-policy": page.content_security_policy})
        return _problem(405, "METHOD_NOT_ALLOWED", "GraphQL over GET is disabled; use POST with JSON")
    media_type = response_media_type(request.headers.get("accept"))
    started = time.perf_counter()
    with observed_operation(None) as operation:
        answer = await _answer(request, runtime, operation)
        status, body = (answer.status, answer.body) if answer.status else graphql_status(answer.body, media_type)
        if runtime.metrics is not None:
            runtime.metrics.observe(operation.name, status, body, started)
    return GraphQLJSONResponse(body, status_code=status, headers=answer.headers, media_type=media_type)


async def _answer(request: Request, runtime: _Runtime, operation: ObservedOperation) -> _Answer:
    settings = runtime.settings
    # JSON only: a browser cannot send it cross-site without a CORS preflight, which is the CSRF defence.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _refusal(415, "UNSUPPORTED_MEDIA_TYPE", "send the request as application/json")
    body = await _bounded_body(request, settings.max_body_bytes)
    if body is None:
        return _refusal(413, "PAYLOAD_TOO_LARGE", f"the request body exceeds {settings.max_body_bytes} bytes")
    try:
        parsed = await _parse_off_loop(body, settings.max_json_depth, runtime.trusted)
    except JsonTooDeep as error:
        message = f"the body nests JSON deeper than {error.max_depth} levels (ROUNDPOOL_MAX_JSON_DEPTH)"
        return _refusal(400, "BAD_USER_INPUT", message)
    if isinstance(parsed, str):
        return _refusal(400, "BAD_REQUEST", parsed)
    if isinstance(parsed, Refused):  # an unknown document id, or (trusted only) a document nobody registered
        return _refusal(400, parsed.code, parsed.message)
    operation.name = parsed.operation_name
    limiter = runtime.rate_limiter
    client = request.client.host if request.client else None

    async def admit(principal: Principal | None) -> None:
        if limiter is not None:
            await limiter.take(bucket_key(principal, client))

    try:
        claims = claims_from_header(request.headers.get("authorization"), runtime.verifier)
        identity = None if claims is None else Credentials(claims, request.headers.get("x-tenant") or claims.tenant)
        result = await execute_request(
            runtime.schema, runtime.requests, identity, parsed, request_id=request_id_var.get(), admit=admit
        )
    except AuthenticationFailed as error:
        return _refusal(401, "UNAUTHENTICATED", str(error))
    except TenantNotAllowed as error:
        return _refusal(403, "FORBIDDEN", str(error))
    except RateLimited as limited:
        answer = _refusal(429, limited.code, str(limited), retryAfter=limited.retry_after)
        answer.headers["retry-after"] = str(limited.retry_after)
        return answer
    return _Answer(result)


async def _metrics(request: Request) -> Response:
    runtime: _Runtime = request.app.state.runtime
    metrics, token = runtime.metrics, runtime.settings.metrics_token
    if metrics is None or token is None:  # the route exists only with both
        return PlainTextResponse("not found", status_code=404)
    scheme, _, offered = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.encode(), token.encode()):
        return PlainTextResponse(
            "metrics need the bearer token of ROUNDPOOL_METRICS_TOKEN",
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    return Response(await metrics.exposition(runtime.database), media_type=CONTENT_TYPE_LATEST)


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _parse_off_loop(body: bytes, max_depth: int, trusted: TrustedDocuments) -> GraphQLRequest | Refused | str:
    if len(body) <= _PARSE_INLINE_BYTES:
        return _parse(body, max_depth, trusted)
    return await asyncio.to_thread(_parse, body, max_depth, trusted)


def _parse(body: bytes, max_depth: int, trusted: TrustedDocuments) -> GraphQLRequest | Refused | str:
    """The request, or why it is malformed; :class:`JsonTooDeep` for a body (variables included) nested deeper
    than `max_depth`, which would otherwise exhaust the parser's or the coercion's recursion."""
    try:
        payload: Any = load_json(body, max_depth)
    except JsonTooDeep:
        raise
    except ValueError:
        return "the body is not JSON"
    if not isinstance(payload, dict):
        return "the body must be a JSON object with a string 'query'"
    query = trusted.resolve(payload.get("query"), payload.get("documentId"), payload.get("extensions"))
    if isinstance(query, Refused):
        return query
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return "'variables' must be a JSON object"
    operation = payload.get("operationName")
    if operation is not None and not isinstance(operation, str):
        return "'operationName' must be a string"
    return GraphQLRequest(query=query, variables=variables, operation_name=operation)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _readyz(request: Request) -> Response:
    runtime: _Runtime = request.app.state.runtime
    try:
        async with runtime.database.engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception as error:  # any failure to reach the database means not ready
        _logger.warning("not ready: %s", error)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


class RequestIdMiddleware:
    """Pure ASGI (BaseHTTPMiddleware would break contextvars): a request id per request, in the logs and
    the `X-Request-Id` response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isprintable() else secrets.token_hex(16)
        token = request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", []).append(header)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # The one place every request passes through: a fault anywhere still answers in JSON with its id.
            _logger.error("unhandled error", exc_info=error, extra={"request_id": request_id})
            if started:
                raise
            response = JSONResponse({"data": None, "errors": [masked_error(request_id)]}, status_code=500)
            await response(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
