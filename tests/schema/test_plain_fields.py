"""Fields without a resolver are read with one `getattr` of their Python name (schema/plain_fields.py); fields
with a resolver keep it, and tracing still tells the two apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from graphql import GraphQLObjectType
from strawberry.extensions import FieldExtension
from strawberry.resolvers import is_default_resolver

from policies.principal import TenantKind
from schema.build import RoundpoolSchema
from schema.plain_fields import read_plain_fields_directly, reads_property
from schema.types.node import global_id
from schema.types.tenancy import Tenant
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World


def _fields(schema: strawberry.Schema) -> dict[str, object]:
    graphql_schema = schema._schema
    return {
        f"{type_.name}.{name}": field.resolve
        for type_ in graphql_schema.type_map.values()
        if isinstance(type_, GraphQLObjectType)
        for name, field in type_.fields.items()
    }


def test_no_field_is_left_on_strawberrys_three_frame_path(schema: RoundpoolSchema) -> None:
    resolvers = _fields(schema)
    direct = [key for key, resolve in resolvers.items() if getattr(resolve, "__qualname__", "").startswith("_attr")]
    assert len(direct) > 300
    assert not [key for key, resolve in resolvers.items() if getattr(resolve, "__name__", "") == "_get_basic_result"]
    assert all(is_default_resolver(resolvers[key]) for key in direct)  # tracing skips them as before


def test_the_direct_read_uses_the_python_name_and_resolvers_are_kept(schema: RoundpoolSchema) -> None:
    resolvers = _fields(schema)
    ownership = resolvers["PortfolioCompany.fullyDilutedOwnership"]
    assert callable(ownership)
    assert ownership(SimpleNamespace(fully_diluted_ownership="0.25"), None) == "0.25"
    for with_resolver in ("PortfolioCompany.costs", "PortfolioCompany.payouts", "Query.portfolio"):
        assert not is_default_resolver(resolvers[with_resolver])  # type: ignore[arg-type]


def test_a_nodes_id_is_read_as_its_global_id_property(schema: RoundpoolSchema) -> None:
    resolvers = _fields(schema)
    tenant = Tenant(db_id=uuid.uuid4(), slug="s", name="S", kind=TenantKind.STARTUP, created_at=datetime.now(UTC))
    for node_type in ("Tenant", "User", "Fund", "Invoice"):
        assert getattr(resolvers[f"{node_type}.id"], "__qualname__", "").startswith("_attr"), node_type
    assert resolvers["Tenant.id"](tenant, None) == global_id("Tenant", tenant.db_id)  # type: ignore[operator]
    assert is_default_resolver(resolvers["Tenant.id"])  # type: ignore[arg-type]


def test_a_resolver_marked_as_a_property_read_keeps_its_extensions() -> None:
    class Shout(FieldExtension):
        def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
            return str(next_(source, info, **kwargs)).upper()

    @strawberry.type
    class Query:
        @property
        def word(self) -> str:
            return "quiet"

        @strawberry.field
        @reads_property("word")
        def plain(self) -> str:
            return self.word

        @strawberry.field(extensions=[Shout()])
        @reads_property("word")
        def loud(self) -> str:
            return self.word

    schema = strawberry.Schema(Query)
    assert read_plain_fields_directly(schema._schema, getattr) == 1
    result = schema.execute_sync("{ plain loud }", root_value=Query())
    assert result.data == {"plain": "quiet", "loud": "QUIET"}


def test_another_default_resolver_is_left_alone() -> None:
    @strawberry.type
    class Query:
        answer: int = 42

    schema = strawberry.Schema(Query)
    assert read_plain_fields_directly(schema._schema, lambda source, name: None) == 0
    assert getattr(_fields(schema)["Query.answer"], "__name__", "") == "_get_basic_result"
    assert read_plain_fields_directly(schema._schema, getattr) == 1


async def test_plain_fields_answer_through_the_real_path(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    result = await gql(owner, "{ me { actingTenant { slug name kind } } }")
    assert "errors" not in result, result
    assert result["data"]["me"]["actingTenant"]["slug"] == owner.tenant_slug
