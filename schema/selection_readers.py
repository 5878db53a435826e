"""Pure selections read by one generated function.

A selection is pure when every field in it, at every depth, is completed without a resolver (schema/executor.py:
a plain leaf, a list of plain leaves, a plain object, a list of plain objects, or `__typename`), has no
arguments and no directives, and selects its sub-fields without fragments. A page's connection is one: `edges {
node { …8 columns } } pageInfo { … }`. graphql-core completes it field by field and the executor's plan still
walks it field by field (≈ 30 µs a row); here it becomes the source of one Python function, compiled once, that
reads the attributes, coerces the leaves and builds the dicts in a single call.

The function either returns exactly what graphql-core would (the data, no error) or gives up: a null where the
type forbids one, an attribute that raises, a value that is not an ordinary one, a coercion that fails or gives
nothing, an object its type's check refuses. Giving up returns None, and the executor completes the selection
its usual way, which reports exactly what graphql-core reports. Nothing read here has side effects (plain fields
read attributes and side-effect-free properties), so reading again is safe.

The generated text contains no name from the client's document: response names (aliases), attribute names and
coercions are constants the function receives, referred to by index.
"""

from __future__ import annotations

import keyword
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from graphql.pyutils import Undefined

# Values read as leaves are of these types or their subclasses (Money is a Decimal, an ID a str) that define no
# `__await__`: graphql-core would await anything awaitable, and the scalars coerce these without the resolve info.
_ORDINARY_BASES = (str, int, float, dict, list, Decimal, date, time, UUID, Enum)  # bool is an int, datetime a date
KNOWN_ORDINARY: dict[type, bool] = {}  # by class: what `ordinary` decided
_PLAIN_VALUES: dict[type, bool] = {}


def ordinary(value: Any) -> bool:
    """A leaf's value the scalars coerce as graphql-core would, never awaited: decided once per class."""
    cls = type(value)
    known = KNOWN_ORDINARY.get(cls)
    if known is None:
        known = KNOWN_ORDINARY[cls] = issubclass(cls, _ORDINARY_BASES) and not hasattr(cls, "__await__")
    return known


def plain_value(value: Any) -> bool:
    """An object's value that graphql-core would neither await nor raise: decided once per class (an awaitable
    class defines `__await__`; coroutines and generators are classes of their own)."""
    cls = type(value)
    known = _PLAIN_VALUES.get(cls)
    if known is None:
        known = _PLAIN_VALUES[cls] = not (
            hasattr(cls, "__await__") or issubclass(cls, BaseException | types.CoroutineType | types.GeneratorType)
        )
    return known


@dataclass(frozen=True)
class Leaf:
    """A plain scalar or enum field: `coerce(getattr(source, attribute))`."""

    key: str  # the response name
    attribute: str
    coerce: Callable[[Any], Any]
    non_null: bool
    str_as_is: bool  # String and ID give a str back as it is


@dataclass(frozen=True)
class Leaves:
    """A plain list of leaves, read by the executor's own function (which returns `reader_of`'s `slow` when it
    gives up)."""

    key: str
    read: Callable[[Any], Any]


@dataclass(frozen=True)
class TypeName:
    key: str
    name: str


@dataclass(frozen=True)
class Child:
    """A plain object field, its sub-selection `fields`; `check` is the type's `is_type_of` (called without the
    resolve info: only Strawberry's own, which ignores it)."""

    key: str
    attribute: str
    non_null: bool
    check: Callable[[Any, Any], Any] | None
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Children:
    """A plain list of objects (of a type with no `is_type_of`), each item's sub-selection `fields`."""

    key: str
    attribute: str
    non_null: bool
    items_non_null: bool
    fields: tuple[Field, ...]


Field = Leaf | Leaves | TypeName | Child | Children
Reader = Callable[[Any], dict[str, Any] | None]


class _GiveUp(Exception):
    """Raised inside a generated reader: the executor completes the selection its usual way."""


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    if not ordinary(value):
        raise _GiveUp
    coerced = coerce(value)  # an exception gives up too: the reader catches every one
    if coerced is None or coerced is Undefined:
        raise _GiveUp
    return coerced


class _Source:
    """The generated text, and the constants it refers to by index."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: list[Any] = []
        self._names = 0

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"_k[{len(self.constants) - 1}]"

    def name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


def _read(source: _Source, obj: str, attribute: str) -> str:
    if attribute.isidentifier() and not keyword.iskeyword(attribute) and not attribute.startswith("__"):
        return f"{obj}.{attribute}"
    return f"getattr({obj}, {source.constant(attribute)})"


def _emit_fields(source: _Source, depth: int, obj: str, fields: tuple[Field, ...]) -> str:
    """Statements reading `fields` of the object named `obj`; the name of the variable holding their dict."""
    values: list[tuple[str, str]] = []
    for field in fields:
        key = source.constant(field.key)
        value = source.name("v")
        if isinstance(field, TypeName):
            values.append((key, source.constant(field.name)))
            continue
        if isinstance(field, Leaves):
            source.emit(depth, f"{value} = {source.constant(field.read)}({obj})")
            source.emit(depth, f"if {value} is _slow: raise _GiveUp")
            values.append((key, value))
            continue
        source.emit(depth, f"{value} = {_read(source, obj, field.attribute)}")
        source.emit(depth, f"if {value} is None:")
        source.emit(depth + 1, "raise _GiveUp" if field.non_null else "pass")
        if isinstance(field, Leaf):
            coerce = source.constant(field.coerce)
            if field.str_as_is:
                source.emit(depth, f"elif type({value}) is str:")
                source.emit(depth + 1, "pass")
            # `_coerced` written out for the classes already known to be ordinary (a datetime, a dict)
            source.emit(depth, f"elif _known(type({value})):")
            source.emit(depth + 1, f"{value} = {coerce}({value})")
            source.emit(depth + 1, f"if {value} is None or {value} is _undefined: raise _GiveUp")
            source.emit(depth, "else:")
            source.emit(depth + 1, f"{value} = _coerced({coerce}, {value})")
        elif isinstance(field, Child):
            source.emit(depth, "else:")
            source.emit(depth + 1, f"if not _plain_value({value}): raise _GiveUp")
            if field.check is not None:
                source.emit(depth + 1, f"if {source.constant(field.check)}({value}, None) is not True: raise _GiveUp")
            inner = _emit_fields(source, depth + 1, value, field.fields)
            source.emit(depth + 1, f"{value} = {inner}")
        else:
            items, item = source.name("items"), source.name("item")
            source.emit(depth, f"elif type({value}) is not list and type({value}) is not tuple: raise _GiveUp")
            source.emit(depth, "else:")
            source.emit(depth + 1, f"{items} = []")
            source.emit(depth + 1, f"for {item} in {value}:")
            source.emit(depth + 2, f"if {item} is None:")
            if field.items_non_null:
                source.emit(depth + 3, "raise _GiveUp")
            else:
                source.emit(depth + 3, f"{items}.append(None)")
                source.emit(depth + 3, "continue")
            source.emit(depth + 2, f"if not _plain_value({item}): raise _GiveUp")
            inner = _emit_fields(source, depth + 2, item, field.fields)
            source.emit(depth + 2, f"{items}.append({inner})")
            source.emit(depth + 1, f"{value} = {items}")
        values.append((key, value))
    result = source.name("d")
    source.emit(depth, f"{result} = {{{', '.join(f'{key}: {value}' for key, value in values)}}}")
    return result


def reader_of(fields: tuple[Field, ...], slow: object) -> Reader:
    """The generated reader of a pure selection: its dict, or None where the executor must complete it.
    `slow` is what a `Leaves` read returns when it gives up."""
    source = _Source()
    source.emit(1, "try:")
    result = _emit_fields(source, 2, "source", fields)
    source.emit(2, f"return {result}")
    source.emit(1, "except Exception:")  # _GiveUp, or anything a read or a coercion raised
    source.emit(2, "return None")
    text = "def read(source):\n" + "\n".join(source.lines) + "\n"
    namespace: dict[str, Any] = {
        "_k": tuple(source.constants),
        "_slow": slow,
        "_GiveUp": _GiveUp,
        "_coerced": _coerced,
        "_known": KNOWN_ORDINARY.get,
        "_undefined": Undefined,
        "_plain_value": plain_value,
    }
    exec(compile(text, "<pure selection>", "exec"), namespace)  # our text; client names are constants
    read: Reader = namespace["read"]
    return read
