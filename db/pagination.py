"""Keyset pagination: order by a unique key, continue strictly after the last key seen (never OFFSET)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, tuple_

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool


def keyset(
    statement: Select[Any], key: Sequence[ColumnElement[Any]], after: Sequence[Any] | None, first: int
) -> Select[Any]:
    """Order `statement` by `key` ascending, start after the key tuple `after`, fetch one extra row."""
    if after is not None:
        statement = statement.where(tuple_(*key) > tuple_(*after))
    return statement.order_by(*key).limit(first + 1)


def page_of(rows: Sequence[T], first: int) -> Page[T]:
    return Page(items=list(rows[:first]), has_next=len(rows) > first)
