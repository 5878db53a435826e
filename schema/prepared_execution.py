"""A document already parsed and validated is executed by graphql-core directly.

Strawberry's `Schema.execute` builds, per request, an execution context, the extensions and their runner, a
middleware manager, and enters four extension hooks (operation, parsing, validation, execution) to reach what
this schema's only extension decides from the document cache (schema/documents.py): ≈ 15 % of a small request.
When nothing else observes the operation (no tracing, no metrics extension) and the text's cached verdict is
"valid", that work is known before it starts: the cached document runs on graphql-core's `execute` with the
arguments Strawberry's own call passes, and the errors go through the schema's `process_errors` as Strawberry's
do. Anything else — a text not cached yet or invalid, observers, an operation that is not a query or a mutation
— returns None and the caller executes through Strawberry, which caches the verdict for the next time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from graphql.execution import execute
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_first_operation, get_operation_type

if TYPE_CHECKING:
    from schema.build import RoundpoolSchema

_DIRECT = frozenset({OperationType.QUERY, OperationType.MUTATION})
# Strawberry's predicate (it returns a plain bool where graphql-core's signature asks for a TypeGuard).
_IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


async def execute_prepared(
    schema: RoundpoolSchema,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
) -> ExecutionResult | None:
    """The result of a cached, valid document, or None when Strawberry must execute it (see the module doc).
    Raises CannotGetOperationTypeError for an operation name the document lacks, as Strawberry does."""
    if schema.observed:
        return None
    prepared = schema.documents.get(query)
    if prepared is None or prepared.errors:
        return None
    try:
        operation_type = get_operation_type(prepared.document, operation_name)
    except RuntimeError as error:
        raise CannotGetOperationTypeError(operation_name) from error
    if operation_type not in _DIRECT:
        return None
    if operation_name is None:  # Strawberry runs the first operation when none is named
        first = get_first_operation(prepared.document)
        operation_name = first.name.value if first is not None and first.name is not None else None
    try:
        result = execute(
            schema._schema,
            prepared.document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=context,
            is_awaitable=_IS_AWAITABLE,
            executor_class=schema.execution_context_class,
            operation_extensions=None,
        )
        if not isinstance(result, GraphQLExecutionResult):
            result = await result
    except Exception as error:  # as Strawberry: a fault outside any field is the result's one error
        failure = error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)
        result = GraphQLExecutionResult(data=None, errors=[failure])
    assert isinstance(result, GraphQLExecutionResult)
    if result.errors:
        schema.process_errors(result.errors, None)
    return ExecutionResult(data=result.data, errors=result.errors, extensions={})
