"""Fields without a resolver read their attribute in one call, and so do fields whose resolver only returns a
property (Node.id).

Strawberry resolves such a field through three Python frames (its basic-field wrapper, `get_result`, the
configured default resolver) and two fresh containers, per field and object: a 200-company portfolio reads
~3,400 of them. With the default resolver (`getattr`) that is one `getattr` of the field's Python name, which
replaces it here, once, when the schema is built (≈ 8 % of the portfolio's completion).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from graphql import GraphQLObjectType, GraphQLSchema
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# The wrapper Strawberry builds only for a field with no resolver, no extensions and no exception handler.
_STRAWBERRY_BASIC = "_get_basic_result"


# The mark on a resolver made here: the attribute it reads (schema/executor.py reads leaves in line by it).
_ATTRIBUTE = "_roundpool_attribute"


def _attribute(name: str) -> Callable[[Any, Any], Any]:
    def resolve(source: Any, _info: Any) -> Any:
        return getattr(source, name)

    resolve._is_default = True  # type: ignore[attr-defined]  # tracing skips default resolvers by this mark
    setattr(resolve, _ATTRIBUTE, name)
    return resolve


# The mark on a resolver that only returns a property of its object (Node.id: `node_id`), set by
# :func:`reads_property`: such a field is read like a plain one when it has no extension or permission.
_PROPERTY = "_roundpool_reads_property"

_F = TypeVar("_F", bound=Callable[..., Any])


def reads_property(name: str) -> Callable[[_F], _F]:
    """Mark a resolver as `return self.<name>`, where `name` is a side-effect-free property."""

    def mark(resolver: _F) -> _F:
        setattr(resolver, _PROPERTY, name)
        return resolver

    return mark


def _property_read(definition: StrawberryField) -> str | None:
    resolver = definition.base_resolver
    name = getattr(resolver.wrapped_func, _PROPERTY, None) if resolver is not None else None
    if not isinstance(name, str) or definition.extensions or definition.permission_classes or definition.arguments:
        return None
    return name


def attribute_of(resolver: Callable[..., Any] | None) -> str | None:
    """The attribute a resolver of :func:`read_plain_fields_directly` reads; None for any other resolver."""
    name = getattr(resolver, _ATTRIBUTE, None)
    return name if isinstance(name, str) else None


def read_plain_fields_directly(schema: GraphQLSchema, default_resolver: Callable[..., Any]) -> int:
    """Give every basic field of `schema` a direct attribute read when the default resolver is `getattr`;
    returns how many fields changed."""
    if default_resolver is not getattr:
        return 0
    replaced = 0
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field in graphql_type.fields.values():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(definition, StrawberryField):
                continue
            read = _property_read(definition)
            if read is not None:
                field.resolve = _attribute(read)
                replaced += 1
                continue
            basic = field.resolve is not None and getattr(field.resolve, "__name__", "") == _STRAWBERRY_BASIC
            if not basic or not is_default_resolver(field.resolve):
                continue
            field.resolve = _attribute(definition.python_name)
            replaced += 1
    return replaced
