"""Every `ID` argument and input field takes a global id through the one codec: a raw uuid (what the API
took before), garbage, or the global id of another type is BAD_USER_INPUT naming the argument, and nothing
changes. The first test walks the schema, so an `ID` argument added without decoding fails it."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from db.session import Database
from resolvers.common.principals import Member
from resolvers.common.request import RequestRuntime, open_request
from resolvers.common.subscriptions import SubscriptionContext
from schema.execution import response_body
from tests.plugins.financials import FinancialsWorld
from tests.plugins.graphql import GraphQL, gid
from tests.plugins.world import World

_SCALARS: dict[str, Any] = {
    "String": "x",
    "Int": 1,
    "Boolean": True,
    "Decimal": "1",
    "Date": "2024-01-01",
    "DateTime": "2024-01-01T00:00:00Z",
    "JSON": {},
    "Count": 1,
}


# Other ID arguments of the same field get well-formed ids of their type, so only the one under test is wrong.
_OTHER_IDS = {"fundId": gid("Fund", uuid.uuid4()), "companyId": gid("Tenant", uuid.uuid4())}


def _value(kind: GraphQLInputType) -> Any:
    """A valid value of a required argument that is not the one under test."""
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {name: _value(f.type) for name, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)}
    assert isinstance(kind, GraphQLScalarType)
    return _SCALARS[kind.name]


def _is_id(kind: GraphQLInputType) -> bool:
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    return isinstance(inner, GraphQLScalarType) and inner.name == "ID"


def _id_arguments(schema: strawberry.Schema) -> list[tuple[str, str, str, str]]:
    """(operation, root field, argument, field path the refusal names) for every ID argument and ID input field."""
    found = []
    roots = (("query", schema._schema.query_type), ("mutation", schema._schema.mutation_type))
    for operation, root in roots:
        assert root is not None
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                kind = arg.type.of_type if isinstance(arg.type, GraphQLNonNull) else arg.type
                if _is_id(arg.type):
                    found.append((operation, name, arg_name, arg_name))
                elif isinstance(kind, GraphQLInputObjectType):
                    found += [
                        (operation, name, arg_name, f"{arg_name}.{f}") for f, v in kind.fields.items() if _is_id(v.type)
                    ]
    return found


def _document(operation: str, name: str, field: GraphQLField, path: str) -> tuple[str, dict[str, Any]]:
    """The root field called with a raw uuid at `path` and valid values for its other required arguments."""
    target, _, inner = path.partition(".")
    raw = str(uuid.uuid4())
    variables: dict[str, Any] = {}
    for arg_name, arg in field.args.items():
        if arg_name == target:
            variables[arg_name] = {**_value(arg.type), inner: raw} if inner else raw
        elif isinstance(arg.type, GraphQLNonNull):
            variables[arg_name] = _OTHER_IDS[arg_name] if _is_id(arg.type) else _value(arg.type)
    declared = ", ".join(f"${k}: {field.args[k].type}" for k in variables)
    passed = ", ".join(f"{k}: ${k}" for k in variables)
    returned = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    selection = ""
    if not isinstance(returned, GraphQLScalarType):
        selection = "{ __typename ... on InvalidInput { field } }" if operation == "mutation" else "{ __typename }"
    return f"{operation}({declared}) {{ {name}({passed}) {selection} }}", variables


async def _refusals(gql: GraphQL, world: World, operation: str, name: str, field: GraphQLField, path: str) -> Any:
    document, variables = _document(operation, name, field, path)
    result = await gql(world.actor("startup_owner"), document, variables)
    if operation == "mutation":
        return result["data"][name] if result.get("data") else result
    return [e.get("extensions") for e in result.get("errors", [])]


async def test_every_id_argument_refuses_a_raw_uuid_naming_itself(
    gql: GraphQL, world: World, schema: strawberry.Schema
) -> None:
    cases = _id_arguments(schema)
    assert len(cases) > 30  # the walk found the arguments (queries and mutations)
    wrong = {}
    for operation, name, _, path in cases:
        root = schema._schema.query_type if operation == "query" else schema._schema.mutation_type
        assert root is not None
        seen = await _refusals(gql, world, operation, name, root.fields[name], path)
        expected: Any = (
            {"__typename": "InvalidInput", "field": path}
            if operation == "mutation"
            else [{"code": "BAD_USER_INPUT", "field": path}]
        )
        if seen != expected:
            wrong[f"{name}({path})"] = seen
    assert wrong == {}


def _counts(conn: psycopg.Connection, world: World) -> dict[str, Any]:
    with conn.transaction():
        return {
            "grants": conn.execute(
                "select id, status, scopes from portfolio_grants where tenant_id = %s order by id",
                (world.tenants["startup"],),
            ).fetchall(),
            "funds": conn.execute("select count(*) from funds").fetchone(),
            "commitments": conn.execute("select count(*) from fund_commitments").fetchone(),
            "reports": conn.execute("select count(*) from financial_reports").fetchone(),
            "audit": conn.execute("select count(*) from audit_events").fetchone(),
        }


REVOKE = "mutation($id: ID!) { revokePortfolioAccess(id: $id) { __typename ... on InvalidInput { field message } } }"
DELETE_FUND = "mutation($id: ID!) { deleteFund(id: $id) { __typename ... on InvalidInput { field message } } }"
SAVE_REPORT = """mutation($input: FinancialReportInput!) {
  saveFinancialReport(input: $input) { __typename ... on InvalidInput { field message } }
}"""


@pytest.mark.parametrize("shape", ["wrong type", "raw uuid", "garbage"])
async def test_a_mutation_given_a_bad_id_refuses_it_and_changes_nothing(
    gql: GraphQL, owner_conn: psycopg.Connection, financials_world: FinancialsWorld, shape: str
) -> None:
    world = financials_world.world
    with owner_conn.transaction():
        row = owner_conn.execute(
            "insert into funds (tenant_id, name, currency) values (%s, %s, 'JPY') returning id",
            (world.tenants["vc_active"], f"Fund {world.suffix}"),
        ).fetchone()
        assert row is not None
        fund = row[0]
        owner_conn.execute(
            "insert into fund_commitments (tenant_id, fund_id, limited_partner, amount, committed_on)"
            " values (%s, %s, 'LP', 100, '2024-01-01')",
            (world.tenants["vc_active"], fund),
        )
    grant, draft = world.grants["vc_active"], financials_world.ids["S.fin.draft"]
    # each target is a real object the actor may change: only the id's shape stops the mutation
    ids = {
        "wrong type": (gid("Tenant", grant), gid("Invoice", fund), gid("KpiReport", draft)),
        "raw uuid": (str(grant), str(fund), str(draft)),
        "garbage": ("not an id", "%%%", "x" * 500),
    }[shape]
    before = _counts(owner_conn, world)

    revoked = await gql(world.actor("startup_owner"), REVOKE, {"id": ids[0]})
    deleted = await gql(world.actor("vc_active"), DELETE_FUND, {"id": ids[1]})
    report = {"id": ids[2], "statement": "PROFIT_AND_LOSS", "periodStart": "2024-02-01", "periodEnd": "2024-02-28"}
    saved = await gql(world.actor("startup_owner"), SAVE_REPORT, {"input": {**report, "currency": "JPY", "lines": []}})

    for result, name, field in (
        (revoked, "revokePortfolioAccess", "id"),
        (deleted, "deleteFund", "id"),
        (saved, "saveFinancialReport", "input.id"),
    ):
        assert "errors" not in result, result
        answer = result["data"][name]
        assert (answer["__typename"], answer["field"]) == ("InvalidInput", field), answer
        if shape == "wrong type":
            assert "not of a" in answer["message"]
    assert _counts(owner_conn, world) == before


async def test_a_query_given_an_id_of_another_type_is_bad_user_input(gql: GraphQL, world: World) -> None:
    query = "query($id: ID!, $company: ID) { fund(id: $id) { id } capTable(company: $company) { companyId } }"
    result = await gql(
        world.actor("vc_active"),
        query,
        {"id": gid("Tenant", world.tenants["startup"]), "company": gid("Fund", world.tenants["startup"])},
    )
    assert result["data"] == {"fund": None, "capTable": None}
    assert sorted(e["extensions"]["field"] for e in result["errors"]) == ["company", "id"]
    assert {e["extensions"]["code"] for e in result["errors"]} == {"BAD_USER_INPUT"}


async def _subscribed(
    schema: strawberry.Schema, database: Database, world: World, name: str, field: GraphQLField, value: str
) -> list[Any]:
    """The errors' extensions in the first event of subscription `name` given `value` as its id."""
    runtime = RequestRuntime(database, max_page_size=10)
    member = world.actor("billing_admin")
    assert member.user_id is not None
    async with open_request(runtime, Member(member.user_id, member.tenant_slug), request_id="subscribe") as opened:
        principal = opened.principal
    context = SubscriptionContext(
        request_id="subscribe", runtime=runtime, principal=principal, poll_interval_s=0.01, max_lifetime_s=1
    )
    (arg_name,) = [a for a, arg in field.args.items() if _is_id(arg.type)]
    stream = await schema.subscribe(
        f"subscription($v: ID!) {{ {name}({arg_name}: $v) {{ __typename }} }}",
        variable_values={"v": value},
        context_value=context,
    )
    assert not isinstance(stream, strawberry.types.ExecutionResult) or stream.errors, stream
    first = stream if isinstance(stream, strawberry.types.ExecutionResult) else await anext(aiter(stream))
    body = response_body(first, "subscribe")
    return [e.get("extensions") for e in body.get("errors", [])]


async def test_every_subscription_id_refuses_a_raw_uuid_and_another_types_id(
    schema: strawberry.Schema, database: Database, world: World, owner_conn: psycopg.Connection
) -> None:
    root = schema._schema.subscription_type
    assert root is not None
    fields = {name: f for name, f in root.fields.items() if any(_is_id(a.type) for a in f.args.values())}
    assert {"costImportProgress", "costAssemblyProgress", "invoiceRunProgress"} <= set(fields)
    before = _counts(owner_conn, world)
    key = uuid.uuid4()
    wrong = {}
    for name, field in fields.items():
        for shape, value in (("raw uuid", str(key)), ("wrong type", gid("Fund", key)), ("garbage", "%%%")):
            seen = await _subscribed(schema, database, world, name, field, value)
            if seen != [{"code": "BAD_USER_INPUT", "field": "id"}]:
                wrong[f"{name}({shape})"] = seen
    assert wrong == {}
    assert _counts(owner_conn, world) == before


MESSAGES = {
    "deleteFund": ("vc_active", "Fund", DELETE_FUND.replace("InvalidInput { field message }", "Problem { message }")),
    "revokePortfolioAccess": (
        "startup_owner",
        "PortfolioGrant",
        REVOKE.replace("InvalidInput { field message }", "Problem { message }"),
    ),
    "financialReport": ("startup_owner", "FinancialReport", "query($id: ID!) { financialReport(id: $id) { id } }"),
}


@pytest.mark.parametrize("name", sorted(MESSAGES))
async def test_a_refusal_names_the_object_by_its_global_id(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection, name: str
) -> None:
    actor, type_name, document = MESSAGES[name]
    key = uuid.uuid4()
    before = _counts(owner_conn, world)

    result = await gql(world.actor(actor), document, {"id": gid(type_name, key)})

    if result.get("errors"):
        (error,) = result["errors"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        message = error["message"]
    else:
        assert result["data"][name]["__typename"] == "NotFound", result
        message = result["data"][name]["message"]
    assert gid(type_name, key) in message
    assert str(key) not in message
    assert _counts(owner_conn, world) == before
