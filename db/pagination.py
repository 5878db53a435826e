"""Keyset pagination: order by a unique key, continue strictly after (or before) a key seen (never OFFSET).

A :class:`Window` is one slice of that order: the first `size` rows after `after`, or — `backwards` — the last
`size` rows before `before` (fetched in reverse order and turned back, so both read the same way).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, tuple_

from db.compiled import CompiledQuery, compiled, records_of

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
    return _bounded(statement, key, window.after, window.before, window.backwards, window.size + 1, descending)


def _bounded(
    statement: Select[Any],
    key: Sequence[ColumnElement[Any]],
    after: Sequence[Any] | None,
    before: Sequence[Any] | None,
    backwards: bool,
    limit: int | ColumnElement[Any],
    descending: bool,
) -> Select[Any]:
    keys = tuple_(*key)
    if after is not None:
        statement = statement.where(keys < tuple_(*after) if descending else keys > tuple_(*after))
    if before is not None:
        statement = statement.where(keys > tuple_(*before) if descending else keys < tuple_(*before))
    reverse = backwards != descending
    return statement.order_by(*(c.desc() if reverse else c.asc() for c in key)).limit(limit)


class Keyset(Generic[T]):
    """:func:`keyset` over one statement, compiled once per window shape (cursor after, before, direction)
    and run with `RequestTransaction.fetch`: a request's page costs no statement building. The statement's
    own parameters are bind parameters without values, given to :meth:`page`; its columns are `record`'s
    fields, in order (rows become records positionally)."""

    def __init__(
        self,
        statement: Select[Any],
        key: Sequence[ColumnElement[Any]],
        record: type[T],
        *,
        descending: bool = False,
    ) -> None:
        self._statement = statement
        self._key = tuple(key)
        self._record = record
        self._descending = descending
        self._shapes: dict[tuple[bool, bool, bool], CompiledQuery] = {}
        self._count = compiled(select(func.count()).select_from(statement.subquery()))
        self._query(False, False, False, record)  # checks the columns against the record's fields now

    def _query(self, after: bool, before: bool, backwards: bool, record: type | None = None) -> CompiledQuery:
        shape = (after, before, backwards)
        query = self._shapes.get(shape)
        if query is None:
            parts = [(f"after_{i}", f"before_{i}", c.type) for i, c in enumerate(self._key)]
            bounded = _bounded(
                self._statement,
                self._key,
                [bindparam(a, type_=t) for a, _, t in parts] if after else None,
                [bindparam(b, type_=t) for _, b, t in parts] if before else None,
                backwards,
                bindparam("limit", type_=Integer),
                self._descending,
            )
            query = self._shapes[shape] = compiled(bounded, record)
        return query

    async def page(self, tx: RequestTransaction, window: Window, params: Mapping[str, Any]) -> Page[T]:
        query = self._query(window.after is not None, window.before is not None, window.backwards)
        bound = {**params, "limit": window.size + 1}
        if window.after is not None:
            bound.update((f"after_{i}", v) for i, v in enumerate(window.after))
        if window.before is not None:
            bound.update((f"before_{i}", v) for i, v in enumerate(window.before))
        rows = records_of(self._record, await tx.fetch(query, bound))
        return page_of(rows, window, count=self._counter(tx, dict(params)))

    def _counter(self, tx: RequestTransaction, params: dict[str, Any]) -> Callable[[], Awaitable[int]]:
        async def count() -> int:
            return int((await tx.fetch(self._count, params))[0][0])

        return count


def page_of(rows: Sequence[T], window: Window, count: Callable[[], Awaitable[int]] | None = None) -> Page[T]:
    """The page of rows a :func:`keyset` statement returned. A cursor on the far side means rows exist there
    (the cursor named one), which is how Relay allows `hasPreviousPage`/`hasNextPage` to be answered cheaply."""
    more = len(rows) > window.size
    items = list(rows[: window.size])
    if window.backwards:
        items.reverse()
        return Page(items=items, has_next=window.before is not None, has_previous=more, count=count)
    return Page(items=items, has_next=more, has_previous=window.after is not None, count=count)
