"""Relay connections with opaque keyset cursors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from db.pagination import Page
from resolvers.pages import Cursor

Node = TypeVar("Node")
Item = TypeVar("Item")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="Total number of items; counted only when asked for, where supported.")
    async def total_count(self) -> int | None:
        return None if self.count is None else await self.count()


def connection(
    page: Page[Item],
    to_node: Callable[[Item], Node],
    key: Callable[[Item], Sequence[Any]],
    *,
    cursor: Cursor,
    count: Callable[[], Awaitable[int]] | None = None,
) -> Connection[Node]:
    edges = [Edge(cursor=cursor.encode(key(item)), node=to_node(item)) for item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        count=count,
    )
