"""A cached, valid document runs on graphql-core directly (schema/prepared_execution.py): the same answers as
through Strawberry's hooks — data, errors, variables, operations, mutations — and Strawberry still runs the
first sight of a text, an invalid one, and every document when an extension observes operations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from schema.build import RoundpoolSchema
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

ME = "query Me { me { user { email } actingTenant { slug kind } } }"
TWO = "query A { me { user { email } } } query B { me { actingTenant { slug } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
PAGE = "query($first: Int) { auditEvents(first: $first) { edges { node { action } } pageInfo { hasNextPage } } }"
UPDATE = """mutation($input: CompanyProfileInput!) {
  updateCompanyProfile(input: $input) { __typename ... on CompanyProfile { legalName } }
}"""
INVALID = "{ me { noSuchField } }"

CASES: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (ME, None, None),
    (TWO, None, "B"),
    (TWO, None, None),  # two operations and no name: Strawberry runs the first
    (NODE, {"id": "bm90IGFuIGlk"}, None),  # a malformed id: BAD_USER_INPUT from the resolver
    (PAGE, {"first": "twenty"}, None),  # a variable that does not coerce
    (PAGE, {"first": 2}, None),
    (UPDATE, {"input": {"legalName": "Prepared Ltd"}}, None),
    (INVALID, None, None),
]


class _StrawberryCalls:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def strawberry_calls(schema: RoundpoolSchema) -> Iterator[_StrawberryCalls]:
    """How many executions went through Strawberry's `execute` (it builds the extensions once per call)."""
    calls = _StrawberryCalls()
    original = schema.get_extensions

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.count += 1
        return original(*args, **kwargs)

    schema.get_extensions = counted  # type: ignore[method-assign]
    yield calls
    schema.get_extensions = original  # type: ignore[method-assign]


@pytest.fixture
def observed(schema: RoundpoolSchema) -> Iterator[None]:
    """The schema as if an extension observed operations: every execution goes through Strawberry."""
    schema.observed = True
    yield
    schema.observed = False


async def _answers(gql: GraphQL, world: World, tag: str) -> list[dict[str, Any]]:
    """Each case's answer; `tag` (a comment) makes the texts this test's own in the schema's shared cache."""
    owner = world.actor("startup_owner")
    answers = []
    for query, variables, operation in CASES:
        body = await gql(owner, f"{query}\n# {tag}", variables, operation_name=operation)
        for error in body.get("errors", []):
            error.get("extensions", {}).pop("requestId", None)
            error["message"] = error["message"].split(" (request id")[0]
        answers.append(body)
    return answers


async def test_the_answers_are_strawberrys(
    gql: GraphQL, world: World, schema: RoundpoolSchema, strawberry_calls: _StrawberryCalls
) -> None:
    tag = uuid.uuid4().hex
    texts = len({query for query, _variables, _operation in CASES})
    await _answers(gql, world, tag)  # first sight of each text: Strawberry executes and caches it
    assert strawberry_calls.count == texts
    direct = await _answers(gql, world, tag)
    assert strawberry_calls.count == texts + 1  # only the invalid text goes through Strawberry again
    schema.observed = True
    try:
        through_strawberry = await _answers(gql, world, tag)
    finally:
        schema.observed = False
    assert strawberry_calls.count == texts + 1 + len(CASES)
    assert direct == through_strawberry
    assert direct[0]["data"]["me"]["actingTenant"]["kind"] == "STARTUP"
    assert direct[1]["data"] == {"me": {"actingTenant": {"slug": world.slugs["startup"]}}}
    assert direct[2]["data"] == {"me": {"user": {"email": world.actor("startup_owner").email}}}
    assert direct[3]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert direct[4]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(direct[5]["data"]["auditEvents"]["edges"]) <= 2
    assert direct[6]["data"]["updateCompanyProfile"] == {"__typename": "CompanyProfile", "legalName": "Prepared Ltd"}
    assert direct[7]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_an_unknown_operation_name_is_refused_on_both_paths(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    text = f"{TWO}\n# {uuid.uuid4().hex}"
    first = await gql(owner, text, operation_name="C")  # Strawberry's path (first sight)
    second = await gql(owner, text, operation_name="C")  # the prepared path
    assert first == second
    assert first["errors"][0]["message"] == "no operation named 'C'"


async def test_observed_operations_always_go_through_strawberry(
    gql: GraphQL, world: World, strawberry_calls: _StrawberryCalls, observed: None
) -> None:
    owner = world.actor("startup_owner")
    for _ in range(3):
        body = await gql(owner, ME)
        assert body["data"]["me"]["user"]["email"] == owner.email
    assert strawberry_calls.count == 3
