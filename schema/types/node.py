"""The Relay `Node` interface: every object that can be fetched alone again by `node(id: <its nodeId>)`."""

from __future__ import annotations

import strawberry

from resolvers.nodes import encode_global_id


@strawberry.interface(
    description="An object `node(id)` fetches again. `nodeId` is its global id (opaque, names the type); `id` "
    "stays the object's own id that the other queries and mutations take."
)
class Node:
    id: strawberry.ID

    @strawberry.field(description="The global id: pass it to `node(id)`.")
    def node_id(self) -> strawberry.ID:
        return strawberry.ID(encode_global_id(type(self).__strawberry_definition__.name, str(self.id)))  # type: ignore[attr-defined]
