"""The Relay `Node` interface: every object a query or mutation takes an id of. Its `id` is the global id,
computed from the concrete type's own name, so no type can hand out a raw or mislabelled id."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types.base import get_object_definition

from resolvers.global_ids import NodeType, as_node_type, encode_global_id
from schema.plain_fields import reads_property


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
    @reads_property("node_id")
    def id(self) -> strawberry.ID:
        return self.node_id

    @property
    def node_id(self) -> strawberry.ID:
        """The global id (`id` answers it; read as an attribute where fields are, schema/plain_fields.py)."""
        node_type = _NODE_TYPES.get(type(self))
        if node_type is None:
            node_type = _NODE_TYPES[type(self)] = as_node_type(get_object_definition(type(self), strict=True).name)
        return global_id(node_type, self.db_id)


_NODE_TYPES: dict[type, NodeType] = {}  # a concrete type's GraphQL name, as a node type, looked up once
