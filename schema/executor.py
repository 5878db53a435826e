"""The executor: graphql-core's, with the fields that only read an attribute completed in line.

graphql-core executes every field the same way: a `Path`, the field's definition, a 15-field resolve info, the
resolver, an awaitable check, then `complete_value` through non-null, list and leaf checks before the scalar's
`coerce_output_value`. A 20-row page of 8 columns is ~180 of those; for a field without a resolver whose type is
a scalar or an enum (schema/plain_fields.py) all of it amounts to `coerce_output_value(getattr(source, name))`.

`execute_fields` here does that for such fields, and for lists of such leaves, when every value is an ordinary
one (not None where the type forbids it, not awaitable) and its coercion gives a value; anything else — a null
for a non-null type, a failed read or coercion, resolver middleware (tracing) — goes through graphql-core's own
`execute_field`, which reads and coerces again and reports exactly what it always did. A field without a
resolver whose type is an object type has its sub-selection executed on the attribute's value directly (after
the type's `is_type_of` check, if it has one), its errors handled by graphql-core's `handle_field_error` as
`execute_field` would; a list of such objects (an edge list) likewise, item by item, and so is a list of
objects a resolver returned (a portfolio's companies: graphql-core's `complete_iterable_value` less its
per-item dispatch, unless the list may be streamed). An object whose sub-selection is only such leaves (a Money,
a tenant's slug and name) is read into its dict directly. Resolvers themselves and abstract types are untouched.
What is read in line is planned once per selection and request: graphql-core memoises the sub-selection of a
list's items, so the plan of a page's rows is made once.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.plain_fields import attribute_of
from schema.selection_readers import KNOWN_ORDINARY, Child, Children, Field, Leaf, Leaves, Reader, TypeName, reader_of
from schema.selection_readers import ordinary as _ordinary
from schema.selection_readers import plain_value as _plain_value


class _Slow:
    """Marks a field the in-line read gave up on: graphql-core executes it."""


_SLOW = _Slow()

_Read = Callable[[Any], Any]


@dataclass(frozen=True)
class _PlainObject:
    """A field without a resolver whose type is an object type."""

    name: str  # the attribute
    field: GraphQLField
    object_type: GraphQLObjectType
    return_type: GraphQLOutputType  # as declared (non-null or not), for graphql-core's error handling
    check_reads_info: bool  # the type's is_type_of may read the resolve info (False: Strawberry's own check)


@dataclass(frozen=True)
class _PlainObjectList:
    """A field without a resolver whose type is a list of an object type with no `is_type_of` check."""

    name: str
    item_type: GraphQLObjectType
    items_non_null: bool
    item_return_type: GraphQLOutputType  # the items' type as declared
    return_type: GraphQLOutputType  # the list's, as declared


_How = _Read | _PlainObject | _PlainObjectList | None
_Leaves = tuple[tuple[str, _Read], ...]
_Step = tuple[str, FieldDetailsList, _How]
_Plan = tuple[_Step, ...]


# The generated readers of pure selections (schema/selection_readers.py), for the life of the schema, by the
# parent type and the field nodes that select them. An entry holds its nodes weakly and is valid only while
# they live: a document the cache dropped takes its readers' validity with it, and an id reused by another
# node is a miss. A selection's reader is made when its nodes are seen a second time, so a document parsed for
# one request only (too long for the document cache) never costs a compilation. Oldest entries go first.
_SelectionKey = tuple[GraphQLObjectType, tuple[str, ...], tuple[int, ...]]


@dataclass
class _ReaderEntry:
    nodes: tuple[weakref.ref[Any], ...]
    made: bool = False  # False: seen once, no reader made yet
    reader: Reader | None = None  # None once made: the selection is not pure


T = TypeVar("T")

_READERS: weakref.WeakKeyDictionary[GraphQLSchema, dict[_SelectionKey, _ReaderEntry]] = weakref.WeakKeyDictionary()
_MAX_READERS = 4_096

# How each field of a schema is completed, decided once per field for the life of the schema.
_BY_SCHEMA: weakref.WeakKeyDictionary[GraphQLSchema, dict[int, tuple[GraphQLField, _How]]] = weakref.WeakKeyDictionary()


def _in_line(field: GraphQLField) -> _How:
    """How a field is completed in line: a leaf's read, an object's attribute; None: graphql-core executes it."""
    name = attribute_of(field.resolve)
    if name is None:
        return None
    non_null, inner = _unwrapped(field.type)
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        return _leaf_read(name, inner, non_null)
    if isinstance(inner, GraphQLObjectType):
        return _PlainObject(name, field, inner, field.type, not _strawberry_check(inner.is_type_of))
    if isinstance(inner, GraphQLList):
        items_non_null, item = _unwrapped(inner.of_type)
        if isinstance(item, GraphQLScalarType | GraphQLEnumType):
            return _leaves_read(name, item, non_null, items_non_null)
        if isinstance(item, GraphQLObjectType) and item.is_type_of is None:
            return _PlainObjectList(name, item, items_non_null, inner.of_type, field.type)
    return None


def _strawberry_check(is_type_of: Any) -> bool:
    """Strawberry's `is_type_of` for an interface's implementations: an isinstance check that ignores the info
    (if a version read it, the check called without one fails and graphql-core's own path calls it with one)."""
    return (
        getattr(is_type_of, "__module__", None) == "strawberry.schema.schema_converter"
        and getattr(is_type_of, "__name__", None) == "is_type_of"
    )


def _unwrapped(graphql_type: Any) -> tuple[bool, Any]:
    """(non-null?, the type inside)."""
    if isinstance(graphql_type, GraphQLNonNull):
        return True, graphql_type.of_type
    return False, graphql_type


# What a leaf's read reads (attribute, coercion, non-null, str as it is), for a pure selection's reader.
_LEAF_READS: weakref.WeakKeyDictionary[_Read, tuple[str, Callable[[Any], Any], bool, bool]] = (
    weakref.WeakKeyDictionary()
)


def _leaf_read(name: str, leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> _Read:
    """`coerce_output_value(getattr(source, name))`, or `_SLOW` where that is not the answer."""
    coerce = leaf.coerce_output_value
    known = KNOWN_ORDINARY.get
    # graphql-core's String and ID give a str back as it is: the commonest value needs no call.
    str_as_is = leaf is GraphQLString or leaf is GraphQLID

    def read(source: Any) -> Any:  # one call per value: `_coerced` written out (a portfolio reads ~2,000)
        try:
            value = getattr(source, name)
        except Exception:
            return _SLOW
        if value is None:
            return _SLOW if non_null else None
        if str_as_is and type(value) is str:
            return value
        if not (known(type(value)) or _ordinary(value)):
            return _SLOW
        try:
            coerced = coerce(value)
        except Exception:
            return _SLOW
        return _SLOW if coerced is None or coerced is Undefined else coerced

    _LEAF_READS[read] = (name, coerce, non_null, str_as_is)
    return read


def _leaves_read(name: str, leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool, items_non_null: bool) -> _Read:
    """A list or tuple of leaves, each item coerced as `_leaf_read` coerces one; `_SLOW` if any item is not."""
    coerce = leaf.coerce_output_value

    def read(source: Any) -> Any:
        try:
            values = getattr(source, name)
        except Exception:
            return _SLOW
        if values is None:
            return _SLOW if non_null else None
        if type(values) not in (list, tuple):
            return _SLOW
        completed: list[Any] = []
        for value in values:
            if value is None:
                if items_non_null:
                    return _SLOW
                completed.append(None)
                continue
            coerced = _coerced(coerce, value)
            if coerced is _SLOW:
                return _SLOW
            completed.append(coerced)
        return completed

    return read


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    if not _ordinary(value):
        return _SLOW
    try:
        coerced = coerce(value)
    except Exception:
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced


def _weak_helpers(executor: StrawberryGraphQLCoreExecutionContext) -> GraphQLResolveInfoHelpers:
    """graphql-core's helpers for resolvers, reaching `executor` weakly. Its own hold the executor's bound
    methods: a cycle through the executor's context that left every request's objects (context, transaction,
    records) to the cycle collector, about 50 µs of a page request's CPU."""
    gather = weakref.WeakMethod(executor.gather_async_work)
    track = weakref.WeakMethod(executor.track_async_work)

    def gather_async_work(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return _live(gather)(values)

    def track_async_work(values: Sequence[Any]) -> None:
        _live(track)(values)

    return GraphQLResolveInfoHelpers(gather=gather_async_work, track=track_async_work)


def _live(method: weakref.WeakMethod[Callable[..., T]]) -> Callable[..., T]:
    bound = method()
    if bound is None:
        raise RuntimeError("the execution these helpers belong to has ended")
    return bound


class RoundpoolExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with plain leaf fields completed in line (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _weak_helpers(self)
        manager = self.middleware_manager
        # Resolver middleware must see every field: then nothing is read in line.
        self._in_line = manager is None or not manager.middlewares
        # Keyed by the grouped field set's identity; the set is kept alive with its plan so the id stays its own.
        self._plans: dict[int, tuple[GroupedFieldSet, _Plan]] = {}
        # An object field's sub-selection by the field's details (kept alive with it, as graphql-core's memo
        # does): the grouped field set, whether it defers, and its leaves' reads when it selects only leaves.
        self._selections: dict[int, tuple[FieldDetailsList, GroupedFieldSet, bool, _Leaves | None]] = {}
        # A grouped field set's reader, if its selection is pure, by the set's identity (kept alive with it).
        self._readers: dict[int, tuple[GroupedFieldSet, Reader | None]] = {}

    def _reader(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> Reader | None:
        """The generated reader of the selection, if it is pure and its document's nodes were seen before."""
        nodes = tuple(details.node for details_list in grouped_field_set.values() for details in details_list)
        key = (parent_type, tuple(grouped_field_set), tuple(map(id, nodes)))
        readers = _READERS.get(self.schema)
        if readers is None:
            readers = _READERS[self.schema] = {}
        entry = readers.get(key)
        if entry is None or any(ref() is not node for ref, node in zip(entry.nodes, nodes, strict=True)):
            readers.pop(key, None)
            if len(readers) >= _MAX_READERS:
                del readers[next(iter(readers))]
            entry = readers[key] = _ReaderEntry(tuple(weakref.ref(node) for node in nodes))
        elif not entry.made:
            fields = self._pure(parent_type, grouped_field_set)
            entry.reader = None if fields is None else reader_of(fields, _SLOW)
            entry.made = True
        self._readers[id(grouped_field_set)] = (grouped_field_set, entry.reader)
        return entry.reader

    def _pure(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> tuple[Field, ...] | None:
        """The selection's fields for a generated reader, or None if it is not pure (selection_readers.py)."""
        fields: list[Field] = []
        for response_name, details_list, how in self._plan(parent_type, grouped_field_set):
            if any(
                details.defer_usage is not None
                or details.fragment_variable_values is not None
                or details.node.directives
                or details.node.arguments
                for details in details_list
            ):
                return None
            if details_list[0].node.name.value == "__typename":
                fields.append(TypeName(response_name, parent_type.name))
                continue
            if how is None:
                return None
            if not isinstance(how, _PlainObject | _PlainObjectList):
                leaf = _LEAF_READS.get(how)
                fields.append(Leaves(response_name, how) if leaf is None else Leaf(response_name, *leaf))
                continue
            if any(
                details.node.selection_set is None
                or not all(
                    isinstance(selection, FieldNode) and not selection.directives
                    for selection in details.node.selection_set.selections
                )
                for details in details_list
            ):
                # Fragments or directives in the sub-selection, read before the variables applied them: what they
                # include may differ in the next request, whose nodes here are the same.
                return None
            object_type = how.object_type if isinstance(how, _PlainObject) else how.item_type
            sub_fields, new_defer_usages, _forbidden = self.collect_subfields(object_type, details_list)
            inner = None if new_defer_usages else self._pure(object_type, sub_fields)
            if inner is None:
                return None
            non_null = isinstance(how.return_type, GraphQLNonNull)
            if isinstance(how, _PlainObjectList):
                fields.append(Children(response_name, how.name, non_null, how.items_non_null, inner))
                continue
            check = how.object_type.is_type_of
            if check is not None and how.check_reads_info:
                return None
            fields.append(Child(response_name, how.name, non_null, check, inner))
        return tuple(fields)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> _Plan:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        known = _BY_SCHEMA.get(self.schema)
        if known is None:
            known = _BY_SCHEMA[self.schema] = {}
        steps: list[_Step] = []
        for response_name, field_details_list in grouped_field_set.items():
            field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            if field is None:
                steps.append((response_name, field_details_list, None))
                continue
            entry = known.get(id(field))
            if entry is None:
                entry = known[id(field)] = (field, _in_line(field))  # the field kept alive with its id
            steps.append((response_name, field_details_list, entry[1]))
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
        known = self._readers.get(id(grouped_field_set))
        reader = known[1] if known is not None else self._reader(parent_type, grouped_field_set)
        if reader is not None:
            read = reader(source_value)
            if read is not None:
                return read
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
                elif isinstance(how, _PlainObjectList):
                    result = self._objects_in_line(
                        how, source_value, Path(path, response_name, parent_type.name), field_details_list
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
        if value is None or not _plain_value(value):
            return _SLOW
        selection = self._selections.get(id(field_details_list))
        if selection is None:
            selection = self._selection(how.object_type, field_details_list)
        _kept, grouped_field_set, defers, leaves = selection
        if defers:
            return _SLOW
        is_type_of = how.object_type.is_type_of
        if is_type_of is not None:  # an interface's implementation (Node): its check, with the info it may read
            info: Any = (
                self.build_resolve_info(
                    how.field, to_nodes(field_details_list), parent_type, Path(path, response_name, parent_type.name)
                )
                if how.check_reads_info
                else None
            )
            try:
                matches = is_type_of(value, info)
            except Exception:
                return _SLOW
            if matches is not True:  # False (graphql-core's error) or an awaitable: graphql-core decides
                if inspect.iscoroutine(matches):
                    matches.close()  # it calls the check again
                return _SLOW
        if leaves is not None:  # a Money, a tenant's slug and name: read here, unless a read gives up
            completed_leaves: dict[str, Any] = {}
            for name, read in leaves:
                result = read(value)
                if result is _SLOW:
                    break
                completed_leaves[name] = result
            else:
                return completed_leaves
        field_path = Path(path, response_name, parent_type.name)
        try:
            completed = self.execute_fields(how.object_type, value, field_path, grouped_field_set, None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, how.return_type, field_details_list, field_path)
            return None
        if type(completed) is not dict and self.is_awaitable(completed):
            return self._guarded(completed, how.return_type, field_details_list, field_path)
        return completed

    def _selection(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> tuple[FieldDetailsList, GroupedFieldSet, bool, _Leaves | None]:
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        plan = self._plan(object_type, grouped_field_set)
        leaves = tuple((name, how) for name, _details, how in plan if callable(how))
        selection = (
            field_details_list,
            grouped_field_set,
            bool(new_defer_usages),
            leaves if len(leaves) == len(plan) else None,
        )
        self._selections[id(field_details_list)] = selection
        return selection

    def _objects_in_line(
        self, how: _PlainObjectList, source: Any, path: Path, field_details_list: FieldDetailsList
    ) -> Any:
        """The list an attribute holds, each item's sub-selection executed directly: graphql-core's
        `complete_iterable_value` and `complete_list_item_value` less the per-item dispatch; errors handled as
        there, item by item and then for the list."""
        try:
            items = getattr(source, how.name)
        except Exception:
            return _SLOW
        if any(details.node.directives for details in field_details_list):
            return _SLOW  # a possible @stream: graphql-core's own path
        try:
            completed = self._items_in_line(
                how.item_type, how.items_non_null, how.item_return_type, items, path, field_details_list
            )
        except Exception as raw_error:  # a non-null item failed: the list fails, as the field it is
            self.handle_field_error(raw_error, how.return_type, field_details_list, path)
            return None
        if completed is _SLOW or type(completed) is list:
            return completed
        return self._guarded(completed, how.return_type, field_details_list, path)

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        """A resolver's list of objects (a portfolio's companies) completed as an attribute's list is; anything
        else, and a list that may be streamed, as graphql-core completes it."""
        if self._in_line and position_context is None:
            items_non_null, item = _unwrapped(item_type)
            if (
                isinstance(item, GraphQLObjectType)
                and item.is_type_of is None
                and self.get_stream_usage(field_details_list, path) is None
            ):
                completed = self._items_in_line(item, items_non_null, item_type, items, path, field_details_list)
                if completed is not _SLOW:
                    return completed
        return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _items_in_line(
        self,
        item_type: GraphQLObjectType,
        items_non_null: bool,
        item_return_type: GraphQLOutputType,
        items: Any,
        path: Path,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The items' sub-selections executed directly, each item's error handled as graphql-core handles it
        (a non-null item's error raised, for the list); the list, an awaitable of it, or `_SLOW` when the
        items are not a plain list or tuple of plain objects (checked before anything runs, so that giving up
        never runs an item twice)."""
        if type(items) not in (list, tuple):
            return _SLOW
        for item in items:
            if item is None:
                if items_non_null:
                    return _SLOW
            elif not _plain_value(item):
                return _SLOW
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(item_type, field_details_list)
        if new_defer_usages:
            return _SLOW
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                if item is None:
                    completed.append(None)
                    continue
                item_path = path.add_key(index, None)
                try:
                    value = self.execute_fields(item_type, item, item_path, grouped_field_set, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_return_type, field_details_list, item_path)
                    value = None
                if type(value) is not dict and is_awaitable(value):
                    value = self._guarded(value, item_return_type, field_details_list, item_path)
                    awaitable_indices.append(index)
                completed.append(value)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return self._items_awaited(completed, awaitable_indices)

    async def _items_awaited(self, completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        """graphql-core's `get_completed_results`."""
        awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            completed[index] = value
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
