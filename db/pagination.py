"""Keyset pagination: order by a unique key, continue strictly after (or before) a key seen (never OFFSET).

A :class:`Window` is one slice of that order: the first `size` rows after `after`, or — `backwards` — the last
`size` rows before `before` (fetched in reverse order and turned back, so both read the same way).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select, tuple_

if TYPE_CHECKING:
    from db.session import RequestTransaction

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Window:
    size: int
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None
    backwards: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    has_previous: bool = False
    count: Callable[[], Awaitable[int]] | None = None  # every item of the order, run only when called

    def with_items(self, items: list[U]) -> Page[U]:
        """The same page with its items replaced (enriched), its position and count kept."""
        return Page(items=items, has_next=self.has_next, has_previous=self.has_previous, count=self.count)


def counter(tx: RequestTransaction, statement: Select[Any]) -> Callable[[], Awaitable[int]]:
    """How many rows `statement` (unbounded by cursors) returns: one count in the request's transaction, so the
    same policies decide what is counted as what is listed."""

    async def count() -> int:
        total = select(func.count()).select_from(statement.order_by(None).subquery())
        return int((await tx.execute(total)).scalar_one())

    return count


def keyset(
    statement: Select[Any], key: Sequence[ColumnElement[Any]], window: Window, *, descending: bool = False
) -> Select[Any]:
    """Bound `statement` by the window's cursors on `key` (ascending, or `descending`), fetch one extra row.

    A backwards window reads the order reversed from `before`; :func:`page_of` puts the rows back in order.
    """
    keys = tuple_(*key)
    if window.after is not None:
        statement = statement.where(keys < tuple_(*window.after) if descending else keys > tuple_(*window.after))
    if window.before is not None:
        statement = statement.where(keys > tuple_(*window.before) if descending else keys < tuple_(*window.before))
    reverse = window.backwards != descending
    return statement.order_by(*(c.desc() if reverse else c.asc() for c in key)).limit(window.size + 1)


def page_of(rows: Sequence[T], window: Window, count: Callable[[], Awaitable[int]] | None = None) -> Page[T]:
    """The page of rows a :func:`keyset` statement returned. A cursor on the far side means rows exist there
    (the cursor named one), which is how Relay allows `hasPreviousPage`/`hasNextPage` to be answered cheaply."""
    more = len(rows) > window.size
    items = list(rows[: window.size])
    if window.backwards:
        items.reverse()
        return Page(items=items, has_next=window.before is not None, has_previous=more, count=count)
    return Page(items=items, has_next=more, has_previous=window.after is not None, count=count)
