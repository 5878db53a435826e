"""`roundpool graphql`: a document run exactly as POST /graphql runs it (same schema and limits, same cost
store and sources, same invoice font, one transaction under the user's context and the policies).

Exit codes: 0 answered; 1 the command could not run (settings, user, tenant); 2 the response has errors, or a
result union answered one of its problems (an object whose `__typename` implements `Problem`) unless
`allow_problems`.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import strawberry
from graphql import GraphQLInterfaceType
from rich.console import Console

from captable.ocf.limits import JsonTooDeep, load_json
from cli.runtime import CliError, load_settings, prepare, user_id_by_email
from cost import CostStore
from db.session import Database
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from schema.app import schema_for
from schema.execution import GraphQLRequest, execute_request
from schema.execution_options import request_runtime

err = Console(stderr=True, soft_wrap=True)
PROBLEM_INTERFACE = "Problem"


def problem_types(schema: strawberry.Schema) -> frozenset[str]:
    """Names of the object types implementing the `Problem` interface."""
    graphql_schema = schema._schema
    interface = graphql_schema.get_type(PROBLEM_INTERFACE)
    if not isinstance(interface, GraphQLInterfaceType):
        return frozenset()
    return frozenset(t.name for t in graphql_schema.get_possible_types(interface))


def problems_in(data: Any, names: frozenset[str], path: str = "") -> list[str]:
    """`path: Type: message` for every object of `data` whose `__typename` is one of `names`."""
    found: list[str] = []
    if isinstance(data, dict):
        if data.get("__typename") in names:
            message = data.get("message")
            found.append(f"{path or 'data'}: {data['__typename']}" + (f": {message}" if message else ""))
        for key, value in data.items():
            found.extend(problems_in(value, names, f"{path}.{key}" if path else key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(problems_in(item, names, f"{path}[{index}]"))
    return found


def _request(document: str, variables: str | None, max_body_bytes: int, max_json_depth: int) -> GraphQLRequest:
    text = Path(document[1:]).read_text() if document.startswith("@") else document
    if len(text.encode()) + len((variables or "").encode()) > max_body_bytes:
        raise CliError(f"the document and variables exceed {max_body_bytes} bytes (ROUNDPOOL_MAX_BODY_BYTES)")
    parsed: Any = None
    if variables:
        try:
            parsed = load_json(variables, max_json_depth)
        except JsonTooDeep as error:
            raise CliError(
                f"--variables nests deeper than {error.max_depth} levels (ROUNDPOOL_MAX_JSON_DEPTH)"
            ) from None
        except ValueError:
            raise CliError("--variables is not JSON") from None
        if not isinstance(parsed, dict):
            raise CliError("--variables must be a JSON object")
    return GraphQLRequest(query=text, variables=parsed)


def run_document(
    document: str, user: str, tenant: str | None, variables: str | None, *, allow_problems: bool
) -> tuple[int, dict[str, Any] | None]:
    """The exit code and the response (None when the command could not run)."""
    try:
        settings = load_settings()
        runtime = prepare(settings)
        request = _request(document, variables, settings.max_body_bytes, settings.max_json_depth)
        user_id = UUID(user_id_by_email(runtime.location, user))
    except (CliError, OSError) as error:
        err.print(f"[red]error:[/red] {error}")
        return 1, None
    schema = schema_for(settings)

    async def run() -> dict[str, Any]:
        database = Database(runtime.location.app_url, pool_size=1, statement_timeout_ms=settings.statement_timeout_ms)
        try:
            requests = request_runtime(settings, database, CostStore(settings.cost_store_root))
            identity = Member(user_id, tenant)
            return await execute_request(schema, requests, identity, request, request_id=uuid.uuid4().hex)
        finally:
            await database.dispose()

    try:
        response = asyncio.run(run())
    except (AuthenticationFailed, TenantNotAllowed) as error:
        err.print(f"[red]error:[/red] {error}")
        return 1, None
    if response.get("errors"):
        return 2, response
    problems = problems_in(response.get("data"), problem_types(schema))
    for problem in problems:
        err.print(f"[yellow]problem:[/yellow] {problem}")
    return (2 if problems and not allow_problems else 0), response
