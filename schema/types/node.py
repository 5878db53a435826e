"""The Relay `Node` interface: every object a query or mutation takes an id of. Its `id` is the global id,
computed from the concrete type's own name, so no type can hand out a raw or mislabelled id."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types.base import get_object_definition

from resolvers.global_ids import NodeType, as_node_type, encode_global_id


def global_id(type_name: NodeType, key: UUID) -> strawberry.ID:
    return strawberry.ID(encode_global_id(type_name, key))


def optional_global_id(type_name: NodeType, key: UUID | None) -> strawberry.ID | None:
    return None if key is None else global_id(type_name, key)


@strawberry.interface(
    description="An object with a global id. `id` is opaque and names the type: pass it to `node(id)` and to "
    "every argument or input field that names this object."
)
class Node:
    db_id: strawberry.Private[UUID]

    @strawberry.field(description="The global id.")
    def id(self) -> strawberry.ID:
        return global_id(as_node_type(get_object_definition(type(self), strict=True).name), self.db_id)
