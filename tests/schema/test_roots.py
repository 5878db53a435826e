"""Every Query root field is nullable, so one failing field never erases its siblings' data."""

from __future__ import annotations

import strawberry
from graphql import GraphQLNonNull


def test_no_query_root_field_is_non_null(schema: strawberry.Schema) -> None:
    query = schema._schema.query_type
    assert query is not None
    non_null = sorted(name for name, field in query.fields.items() if isinstance(field.type, GraphQLNonNull))
    assert non_null == []
