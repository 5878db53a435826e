"""Run one GraphQL document for one identity: the same path for HTTP and the CLI.

One transaction per request (resolvers/common/request.py), bound to the principal's context. Expected errors
(ApiError) keep their message and carry `extensions.code`; anything else is logged with the request id and masked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult

from cost.locations import NO_SOURCES, CostSources
from cost.store import CostStore
from db.errors import DatabaseUnavailable, InvalidValue, timed_out
from db.session import Database
from policies.principal import Principal
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, InvalidInput
from resolvers.common.limits import RequestLimits
from resolvers.common.principals import AuthenticationFailed, Identity, TenantNotAllowed
from resolvers.common.rate_limit import RateLimited
from resolvers.common.request import RequestRuntime, open_request
from schema.build import RoundpoolSchema
from schema.media_types import DATABASE_UNAVAILABLE
from schema.prepared_execution import execute_prepared

_logger = logging.getLogger("roundpool.graphql")


class _Unexpected(Exception):
    """Raised inside the transaction block so that an unexpected error rolls it back."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


async def execute(
    schema: strawberry.Schema,
    database: Database,
    identity: Identity | None,
    request: GraphQLRequest,
    *,
    request_id: str,
    max_page_size: int,
    cost_store: CostStore | None = None,
    cost_sources: CostSources | None = None,
    limits: RequestLimits | None = None,
    invoice_font: Path | None = None,
) -> dict[str, Any]:
    """Execute for `identity` (a `Member` in demos, benchmarks and tests) in one request, as HTTP does, and return
    the response body; a user who is not a member of the tenant raises what `execute_request` raises."""
    runtime = RequestRuntime(
        database=database,
        max_page_size=max_page_size,
        cost_store=cost_store,
        cost_sources=cost_sources or NO_SOURCES,
        limits=limits or RequestLimits(),
        invoice_font=invoice_font,
    )
    return await execute_request(schema, runtime, identity, request, request_id=request_id)


async def execute_request(
    schema: strawberry.Schema,
    runtime: RequestRuntime,
    identity: Identity | None,
    request: GraphQLRequest,
    *,
    request_id: str,
    admit: Callable[[Principal | None], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Execute in one request (resolvers/common/request.py) and return the response body ({"data", "errors"}).

    `admit` runs once the principal is known, before execution (the rate limit). AuthenticationFailed,
    TenantNotAllowed and whatever `admit` raises propagate: the caller answers them (401, 403, 429)."""
    result: ExecutionResult | None = None
    try:
        async with open_request(runtime, identity, request_id=request_id) as context:
            if admit is not None:
                await admit(context.principal)
            result = await _run(schema, context, request)
            if context.transaction is not None and any(_is_unexpected(e) for e in result.errors or []):
                raise _Unexpected(result)
        return _response(result, request_id)
    except _Unexpected as rolled_back:
        return _response(rolled_back.result, request_id)
    except (AuthenticationFailed, TenantNotAllowed, RateLimited):
        raise
    except Exception as error:
        # The transaction did not commit (or execution itself broke): no data may be shown as if it had.
        _logger.error("request failed outside a resolver", exc_info=error, extra={"request_id": request_id})
        body = _response(result, request_id) if result is not None else {}
        errors = [e for e in body.get("errors", []) if e["extensions"]["code"] != "INTERNAL_SERVER_ERROR"]
        fault = unavailable_error(request_id) if isinstance(error, DatabaseUnavailable) else masked_error(request_id)
        return {"data": None, "errors": [*errors, fault]}


async def _run(schema: strawberry.Schema, context: RequestContext, request: GraphQLRequest) -> ExecutionResult:
    try:
        if isinstance(schema, RoundpoolSchema):  # a cached, valid document runs without Strawberry's hooks
            prepared = await execute_prepared(schema, request.query, request.variables, request.operation_name, context)
            if prepared is not None:
                return prepared
        return await schema.execute(
            request.query,
            variable_values=request.variables,
            context_value=context,
            operation_name=request.operation_name,
        )
    except CannotGetOperationTypeError as error:  # the client's document, not a fault of ours
        return ExecutionResult(data=None, errors=[GraphQLError(f"no operation named {error.operation_name!r}")])


def _is_request_error(error: GraphQLError) -> bool:
    """Variables that do not coerce to their declared types: graphql-core wraps its own GraphQLError before
    execution starts (no path). The client sent them, so they are bad input, not a server fault."""
    return error.path is None and isinstance(error.original_error, GraphQLError)


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, ApiError) and not _is_request_error(error)


def _response(result: ExecutionResult, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_format(error, request_id) for error in result.errors]
    return body


def response_body(result: ExecutionResult, request_id: str) -> dict[str, Any]:
    """{"data", "errors"} of a result executed elsewhere (a subscription's events), classified and masked alike."""
    return _response(result, request_id)


def _format(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    if original is None:
        formatted: dict[str, Any] = dict(error.formatted)
        formatted.setdefault("extensions", {})["code"] = "GRAPHQL_VALIDATION_FAILED"
        return formatted
    if _is_request_error(error):
        formatted = dict(error.formatted)
        formatted["extensions"] = {"code": "BAD_USER_INPUT"}
        return formatted
    if isinstance(original, ApiError):
        formatted = dict(error.formatted)
        extensions: dict[str, Any] = {"code": original.code}
        if isinstance(original, InvalidInput) and original.field:
            extensions["field"] = original.field
        formatted["extensions"] = extensions
        return formatted
    if isinstance(original, InvalidValue):
        # The database refused a value that the API's own checks let through: still the client's value.
        _logger.warning("database refused a value", exc_info=original, extra={"request_id": request_id})
        formatted = dict(error.formatted)
        formatted["message"] = f"a value is out of range or malformed for its field (request id {request_id})"
        formatted["extensions"] = {"code": "BAD_USER_INPUT", "requestId": request_id}
        return formatted
    _logger.error("unexpected error", exc_info=original, extra={"request_id": request_id})
    masked = masked_error(request_id)
    if error.path is not None:
        masked["path"] = error.path
    if timed_out(original):
        masked["message"] = f"The request ran past its statement time limit (request id {request_id})"
        masked["extensions"]["code"] = "TIMEOUT"
    if isinstance(original, DatabaseUnavailable):
        masked.update(unavailable_error(request_id))
    return masked


def unavailable_error(request_id: str) -> dict[str, Any]:
    """No connection to the database could be had (db/errors.py DatabaseUnavailable): worth a retry."""
    return {
        "message": f"The database is unavailable; retry shortly (request id {request_id})",
        "extensions": {"code": DATABASE_UNAVAILABLE, "requestId": request_id},
    }


def masked_error(request_id: str) -> dict[str, Any]:
    """What a client sees of a fault on our side: a code and the request id to quote, nothing else."""
    return {
        "message": f"Internal server error (request id {request_id})",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    }
