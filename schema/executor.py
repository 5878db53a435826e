"""The executor: graphql-core's, with the fields that only read an attribute completed in line.

graphql-core executes every field the same way: a `Path`, the field's definition, a 15-field resolve info, the
resolver, an awaitable check, then `complete_value` through non-null, list and leaf checks before the scalar's
`coerce_output_value`. A 20-row page of 8 columns is ~180 of those; for a field without a resolver whose type is
a scalar or an enum (schema/plain_fields.py) all of it amounts to `coerce_output_value(getattr(source, name))`.

`execute_fields` here does that for such fields when the value is an ordinary one (not None, not an exception,
of a type whose coercion is known never to be awaitable) and the coercion gives a value; anything else — a null,
a failed read or coercion, resolver middleware (tracing) — goes through graphql-core's own `execute_field`,
which reads and coerces again and reports exactly what it always did. A field without a resolver whose type is
an object type (with no `is_type_of` check) has its sub-selection executed on the attribute's value directly,
its errors handled by graphql-core's `handle_field_error` as `execute_field` would. Fields with resolvers,
lists and abstract types are untouched. What is read in line is planned once per selection and request: graphql-core memoises the
sub-selection of a list's items, so the plan of a page's rows is made once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.plain_fields import attribute_of

# Values read in line: coercing them never returns an awaitable and never needs the resolve info.
_ORDINARY: frozenset[type] = frozenset({str, int, float, bool, dict, list, Decimal, datetime, date, time, UUID})


class _Slow:
    """Marks a field the in-line read gave up on: graphql-core executes it."""


_SLOW = _Slow()

_Read = Callable[[Any], Any]


@dataclass(frozen=True)
class _PlainObject:
    """A field without a resolver whose type is an object type that needs no `is_type_of` check."""

    name: str  # the attribute
    object_type: GraphQLObjectType
    return_type: GraphQLOutputType  # as declared (non-null or not), for graphql-core's error handling


_Step = tuple[str, FieldDetailsList, _Read | _PlainObject | None]
_Plan = tuple[_Step, ...]


def _in_line(field: GraphQLField) -> _Read | _PlainObject | None:
    """How a field is completed in line: a leaf's read, an object's attribute; None: graphql-core executes it."""
    name = attribute_of(field.resolve)
    if name is None:
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return _leaf_read(name, inner, non_null)
    if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None:
        return _PlainObject(name, inner, field.type)
    return None


def _leaf_read(name: str, leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> _Read:
    """`coerce_output_value(getattr(source, name))`, or `_SLOW` where that is not the answer."""
    coerce = leaf.coerce_output_value

    def read(source: Any) -> Any:
        try:
            value = getattr(source, name)
        except Exception:
            return _SLOW
        if value is None:
            return _SLOW if non_null else None
        if type(value) not in _ORDINARY and not isinstance(value, Enum):
            return _SLOW
        try:
            coerced = coerce(value)
        except Exception:
            return _SLOW
        return _SLOW if coerced is None or coerced is Undefined else coerced

    return read


class RoundpoolExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with plain leaf fields completed in line (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # Resolver middleware must see every field: then nothing is read in line.
        self._in_line = manager is None or not manager.middlewares
        # Keyed by the grouped field set's identity; the set is kept alive with its plan so the id stays its own.
        self._plans: dict[int, tuple[GroupedFieldSet, _Plan]] = {}

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> _Plan:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        steps = []
        for response_name, field_details_list in grouped_field_set.items():
            field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            steps.append((response_name, field_details_list, None if field is None else _in_line(field)))
        plan = tuple(steps)
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self._in_line:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, how in self._plan(parent_type, grouped_field_set):
                if how is None:
                    result: Any = _SLOW
                elif isinstance(how, _PlainObject):
                    result = self._object_in_line(
                        how, source_value, path, response_name, parent_type, field_details_list
                    )
                else:
                    result = how(source_value)
                    if result is not _SLOW:
                        results[response_name] = result
                        continue
                if result is _SLOW:
                    field_path = Path(path, response_name, parent_type.name)
                    result = self.execute_field(
                        parent_type, source_value, field_details_list, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # as graphql-core: settle what other fields started, they may fail too
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._awaited(results, awaitable_fields)

    def _object_in_line(
        self,
        how: _PlainObject,
        source: Any,
        path: Path | None,
        response_name: str,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The object an attribute holds, its sub-selection executed directly: graphql-core's `execute_field` and
        `complete_value` less the resolve info and the type dispatch; errors handled as there."""
        try:
            value = getattr(source, how.name)
        except Exception:
            return _SLOW
        if value is None or self.is_awaitable(value) or isinstance(value, Exception):
            return _SLOW
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(how.object_type, field_details_list)
        if new_defer_usages:
            return _SLOW
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self.execute_fields(how.object_type, value, field_path, grouped_field_set, None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, how.return_type, field_details_list, field_path)
            return None
        if self.is_awaitable(completed):
            return self._guarded(completed, how.return_type, field_details_list, field_path)
        return completed

    async def _guarded(
        self, completed: Any, return_type: GraphQLOutputType, field_details_list: FieldDetailsList, path: Path
    ) -> Any:
        """graphql-core's `await_completed`: an error while the object completes is handled as the field's."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    async def _awaited(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        """graphql-core's `get_results`: the awaitable fields awaited together, in place."""
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
            return results
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results
