"""Relay connections with opaque keyset cursors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from db.pagination import Page
from resolvers.common.pages import Cursor

Node = TypeVar("Node")
Item = TypeVar("Item")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def _encoded_cursor(root: Edge[Any]) -> str:
    return root.codec.encode(root.key)


@strawberry.type
class Edge(Generic[Node]):
    # Encoded only when selected: most pages are read without their edges' cursors.
    cursor: str = strawberry.field(resolver=_encoded_cursor)
    node: Node
    key: strawberry.Private[Sequence[Any]]
    codec: strawberry.Private[Cursor]


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(
        description="How many items the whole connection has (its filters, not the page): one count, "
        "run only when this field is selected."
    )
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
    edges = [Edge(node=to_node(item), key=key(item), codec=cursor) for item in page.items]
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=_encoded_cursor(edges[0]) if edges else None,
        end_cursor=_encoded_cursor(edges[-1]) if edges else None,
    )
    return Connection(edges=edges, page_info=info, count=count or page.count)
