"""The executor reads plain leaf fields in line (schema/executor.py): the same data and the same errors as
graphql-core's own field-by-field execution, for every kind of value a plain leaf can hold, and resolver
middleware still sees every field."""

from __future__ import annotations

import asyncio
import enum
import gc
import inspect
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, cast
from uuid import UUID

import pytest
import strawberry
from graphql import execute as graphql_execute
from graphql import parse
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema.executor as executor_module
from schema.build import RoundpoolSchema
from schema.executor import RoundpoolExecutor
from schema.plain_fields import read_plain_fields_directly
from schema.types.decimals import DECIMAL
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World


@strawberry.enum
class Kind(enum.Enum):
    STARTUP = "startup"
    VC = "vc"


class Money(Decimal):
    pass


class Unreadable:
    def __get__(self, instance: object, owner: type) -> str:
        raise RuntimeError("this attribute cannot be read")


@strawberry.type
class Row:
    text: str
    number: int
    ratio: float
    flag: bool
    amount: Decimal
    at: datetime
    day: date
    key: UUID
    kind: Kind
    details: JSON
    optional: str | None
    big: int
    money: Decimal  # a subclass of Decimal (the API's Money) is as ordinary as Decimal
    tags: list[str]
    maybe_tags: list[str | None] | None
    kinds: list[Kind]


@strawberry.type
class StrictRow:
    text: str
    big: int
    failing: str
    nested_exception: str
    missing: str

    @strawberry.field
    async def later(self) -> str:
        """A resolver inside a list's items: its awaitable is awaited with the others, in place."""
        await asyncio.sleep(0)
        if getattr(self, "later_fails", False):
            raise RuntimeError("later failed")
        return self.text


def _row(i: int) -> Row:
    return Row(
        text=f"row {i}",
        number=i,
        ratio=i / 4,
        flag=i % 2 == 0,
        amount=Decimal(f"{i}.50"),
        at=datetime(2026, 1, 1, i, tzinfo=UTC),
        day=date(2026, 1, 1 + i),
        key=UUID(int=i),
        kind=Kind.VC if i % 2 else Kind.STARTUP,
        details=JSON({"n": i, "list": [i]}),
        optional=None if i % 2 else "set",
        big=i,
        money=Money(f"{i}.10"),
        tags=[f"t{i}", "common"],
        maybe_tags=None if i == 0 else ("a", None),  # a tuple is a list too
        kinds=[Kind.VC, Kind.STARTUP],
    )


class _Fine:
    text = "fine"
    big = 1
    failing = "fine"
    nested_exception = "fine"
    missing = "fine"


class _TooBig(_Fine):
    big = 2**40  # outside GraphQL's 32-bit Int


class _Raises(_Fine):
    failing = Unreadable()


class _HoldsAnException(_Fine):
    nested_exception = ValueError("an exception held as a value")  # type: ignore[assignment]


class _Missing(_Fine):
    missing = None  # type: ignore[assignment]  # a None for a non-null field


class _LaterFails(_Fine):
    later_fails = True  # its awaited resolver raises


_MISBEHAVING = (_Fine, _TooBig, _Raises, _HoldsAnException, _Missing, _LaterFails)


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Company(Named):
    """An interface's implementation: graphql-core checks `is_type_of` on it."""

    slug: str


@strawberry.type
class Checked(Named):
    """An implementation with an `is_type_of` of its own, which reads the resolve info: it is given one."""

    slug: str

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        _CHECKED_FIELDS.append(info.field_name)
        return isinstance(obj, Checked)


_CHECKED_FIELDS: list[str] = []


@strawberry.type
class Holder:
    """Plain object fields: completed in line too, their errors nulling as graphql-core nulls them."""

    row: StrictRow
    maybe: StrictRow | None
    company: Company | None
    tags: list[str] | None
    rows: list[StrictRow | None] | None  # a failing row is nulled alone
    strict_rows: list[StrictRow] | None  # a failing row nulls the list
    checked: Checked | None = None


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [_row(i) for i in range(5)]

    @strawberry.field
    def strict(self) -> list[StrictRow | None]:
        return [kind() for kind in _MISBEHAVING]  # type: ignore[misc]

    @strawberry.field
    def strict_list(self, kind: int) -> list[StrictRow] | None:
        """A resolver's list of non-null items, one of which fails: the list is nulled."""
        return [_Fine(), _MISBEHAVING[kind](), _Fine()]  # type: ignore[list-item]

    @strawberry.field
    def fine_holders(self) -> list[Holder]:
        """Holders whose every value reads: their pure selections are read by the generated readers alone."""
        return [
            Holder(
                row=_Fine(),  # type: ignore[arg-type]
                maybe=None,
                company=Company(name="C", slug="c"),
                tags=["x", "y"],
                rows=[_Fine(), None],  # type: ignore[list-item]
                strict_rows=[_Fine()],  # type: ignore[list-item]
            )
            for _ in range(3)
        ]

    @strawberry.field
    def holders(self) -> list[Holder | None]:
        holders = [
            Holder(
                row=kind(),  # type: ignore[arg-type]
                maybe=kind(),  # type: ignore[arg-type]
                company=Company(name="C", slug="c"),
                tags=["x"],
                rows=[_Fine(), kind(), None],  # type: ignore[list-item]
                strict_rows=[_Fine(), kind()],  # type: ignore[list-item]
                checked=Checked(name="K", slug="k"),
            )
            for kind in _MISBEHAVING
        ]
        holders[0].company = _Fine()  # type: ignore[assignment]  # not a Company: is_type_of refuses it
        holders[2].tags = ["x", None, "y"]  # type: ignore[list-item]  # a null item of a non-null list
        holders[3].tags = [2**40]  # type: ignore[list-item]  # an item that fails coercion
        return holders


ALL = "{ rows { text number ratio flag amount at day key kind details optional big money tags maybeTags kinds } }"
FAILING = "{ strict { text big failing nestedException missing } }"
HOLDERS = (
    "{ holders { maybe { text big failing nestedException missing } row { text big missing }"
    " company { name slug } tags rows { text later big missing } strictRows { later failing nestedException } } }"
)


def _schema(executor: type[StrawberryGraphQLCoreExecutionContext], extensions: list[Any] | None = None) -> Any:
    schema = strawberry.Schema(
        Query,
        execution_context_class=executor,
        extensions=extensions or [],
        config=StrawberryConfig(scalar_map={Decimal: DECIMAL}),
    )
    assert read_plain_fields_directly(schema._schema, getattr) > 10
    return schema


async def _served(
    executor: type[StrawberryGraphQLCoreExecutionContext], query: str, variables: dict[str, Any] | None = None
) -> Any:
    """The second execution of `query` by a schema that parses it once, as the served schema's document cache
    does: a pure selection's reader is made when its nodes are seen again, so this one runs through the readers.
    The first execution (the executor's own path) must have answered the same."""
    schema = _schema(executor, [ParserCache])
    first = await schema.execute(query, variable_values=variables)
    second = await schema.execute(query, variable_values=variables)
    assert _outcome(first) == _outcome(second)
    return second


class _Counting(RoundpoolExecutor):
    executed: ClassVar[list[str]] = []
    infos: ClassVar[list[str]] = []
    completed_objects: ClassVar[list[str]] = []
    fields_of: ClassVar[list[str]] = []

    def execute_fields(self, parent_type: Any, *rest: Any) -> Any:
        _Counting.fields_of.append(parent_type.name)
        return super().execute_fields(parent_type, *rest)

    def complete_object_value(self, return_type: Any, *rest: Any) -> Any:
        _Counting.completed_objects.append(return_type.name)
        return super().complete_object_value(return_type, *rest)

    def build_resolve_info(self, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
        _Counting.infos.append(f"{parent_type.name}.{field_nodes[0].name.value}")
        return super().build_resolve_info(field_def, field_nodes, parent_type, path)

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, *rest: Any) -> Any:
        _Counting.executed.append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return super().execute_field(parent_type, source, field_details_list, *rest)


def _outcome(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((error.message, error.path) for error in result.errors or [])
    return result.data, errors


async def test_every_kind_of_plain_value_is_coerced_by_its_scalar_as_graphql_core_does() -> None:
    ours = await _served(RoundpoolExecutor, ALL)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(ALL)
    assert ours.errors is None
    assert ours.data == theirs.data
    first, second = ours.data["rows"][:2]
    assert first == {
        "text": "row 0",
        "number": 0,
        "ratio": 0.0,
        "flag": True,
        "amount": "0.5",
        "at": "2026-01-01T00:00:00+00:00",
        "day": "2026-01-01",
        "key": "00000000-0000-0000-0000-000000000000",
        "kind": "STARTUP",
        "details": {"n": 0, "list": [0]},
        "optional": "set",
        "big": 0,
        "money": "0.1",
        "tags": ["t0", "common"],
        "maybeTags": None,
        "kinds": ["VC", "STARTUP"],
    }
    assert second["kind"] == "VC"
    assert second["optional"] is None
    assert second["maybeTags"] == ["a", None]


async def test_failed_reads_and_coercions_report_what_graphql_core_reports() -> None:
    ours = await _served(RoundpoolExecutor, FAILING)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(FAILING)
    assert _outcome(ours) == _outcome(theirs)
    messages = {message for message, _path in _outcome(ours)[1]}
    assert "this attribute cannot be read" in messages
    assert "an exception held as a value" in messages
    assert "Cannot return null for non-nullable field StrictRow.missing." in messages
    assert any("Int cannot represent non 32-bit signed integer value" in m for m in messages)
    fine = {"text": "fine", "big": 1, "failing": "fine", "nestedException": "fine", "missing": "fine"}
    assert ours.data == {"strict": [fine, None, None, None, None, fine]}  # each failure nulls its object only
    assert sorted(path[1] for _message, path in _outcome(ours)[1]) == [1, 2, 3, 4]


async def test_a_failing_item_of_a_resolvers_non_null_list_nulls_the_list_as_graphql_core_does() -> None:
    for kind in range(len(_MISBEHAVING)):
        query = "query($k: Int!) { strictList(kind: $k) { text big failing nestedException missing later } }"
        ours = await _served(RoundpoolExecutor, query, {"k": kind})
        theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query, variable_values={"k": kind})
        assert _outcome(ours) == _outcome(theirs), _MISBEHAVING[kind]
        if _MISBEHAVING[kind] is _Fine:
            assert ours.errors is None
            assert len(ours.data["strictList"]) == 3
        else:
            assert ours.data == {"strictList": None}
            assert [error.path[:2] for error in ours.errors or []] == [["strictList", 1]]


async def test_errors_inside_plain_objects_null_what_graphql_core_nulls() -> None:
    ours = await _served(RoundpoolExecutor, HOLDERS)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(HOLDERS)
    assert _outcome(ours) == _outcome(theirs)
    fine = {"text": "fine", "big": 1, "failing": "fine", "nestedException": "fine", "missing": "fine"}
    holders = ours.data["holders"]
    row = {"text": "fine", "big": 1, "missing": "fine"}
    company = {"name": "C", "slug": "c"}
    fine_strict = {"later": "fine", "failing": "fine", "nestedException": "fine"}
    row_later = {"text": "fine", "later": "fine", "big": 1, "missing": "fine"}
    assert holders[0] == {
        "maybe": fine,
        "row": row,
        "company": None,  # is_type_of said no
        "tags": ["x"],
        "rows": [row_later, row_later, None],
        "strictRows": [fine_strict, fine_strict],
    }
    # A failing non-null `row` nulls its holder; a failing `maybe` is nulled alone (seen when `row` is fine).
    assert holders[1] is None  # _TooBig: row.big fails
    assert holders[2] == {  # _Raises: `failing` fails in maybe and in strictRows, not in what rows select
        "maybe": None,
        "row": row,
        "company": company,
        "tags": None,  # a null item of a non-null list
        "rows": [row_later, row_later, None],
        "strictRows": None,
    }
    assert holders[4] is None  # _Missing: row.missing is null
    assert holders[5]["rows"] == [row_later, None, None]  # the awaited failure nulls its item only
    assert holders[5]["strictRows"] is None
    messages = {message for message, _path in _outcome(ours)[1]}
    assert "Expected value of type 'Company' but got: <_Fine instance>." in messages
    assert "Cannot return null for non-nullable field Holder.tags." in messages


async def test_plain_leaves_and_objects_are_not_executed_field_by_field() -> None:
    _Counting.executed, _Counting.completed_objects = [], []
    query = "{ rows { text number kind details money tags maybeTags } holders { row { text } company { slug } } }"
    result = await _schema(_Counting).execute(query)
    assert [error.path for error in result.errors or []] == [["holders", 0, "company"]]
    assert len(result.data["rows"]) == 5
    # Only the company that is_type_of refuses goes field by field (to graphql-core's error).
    assert _Counting.executed == ["Query.rows", "Query.holders", "Holder.company"]
    # The resolvers' lists (rows, holders) are completed item by item in line too: graphql-core completes
    # only that company as an object.
    assert _Counting.completed_objects == ["Company"]


async def test_an_object_that_selects_only_plain_leaves_is_read_without_executing_its_fields() -> None:
    query = "{ holders { row { text big } company { slug } } }"
    _Counting.fields_of = []
    ours = await _schema(_Counting).execute(query)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query)
    assert _outcome(ours) == _outcome(theirs)
    assert ours.data["holders"][0] == {"row": {"text": "fine", "big": 1}, "company": None}  # is_type_of said no
    assert ours.data["holders"][1] is None  # _TooBig: its big fails, its non-null row nulls the holder
    assert ours.data["holders"][2] == {"row": {"text": "fine", "big": 1}, "company": {"slug": "c"}}
    # Only the row whose read gave up (_TooBig's big) has its fields executed (the refused company has none).
    assert _Counting.fields_of.count("StrictRow") == 1
    assert "Company" not in _Counting.fields_of
    assert _Counting.fields_of.count("Holder") == len(_MISBEHAVING)


async def test_an_is_type_of_of_its_own_is_given_the_info_and_strawberrys_needs_none() -> None:
    query = "{ holders { company { slug } checked { slug } } }"
    _CHECKED_FIELDS.clear()
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query)
    assert ["checked"] * len(_MISBEHAVING) == _CHECKED_FIELDS
    _CHECKED_FIELDS.clear()
    _Counting.executed, _Counting.infos = [], []
    ours = await _schema(_Counting).execute(query)
    assert _outcome(ours) == _outcome(theirs)
    assert ours.data["holders"][1] == {"company": {"slug": "c"}, "checked": {"slug": "k"}}
    assert ["checked"] * len(_MISBEHAVING) == _CHECKED_FIELDS  # read from the info it was given
    assert _Counting.infos.count("Holder.checked") == len(_MISBEHAVING)
    # Strawberry's own check (an isinstance) is called without one; only the refused company goes to graphql-core
    assert _Counting.infos.count("Holder.company") == 1
    assert _Counting.executed == ["Query.holders", "Holder.company"]


class _SeesEveryField(SchemaExtension):
    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        _SeesEveryField.seen.append(f"{info.parent_type.name}.{info.field_name}")
        return _next(root, info, *args, **kwargs)


async def test_resolver_middleware_still_sees_every_field() -> None:
    _SeesEveryField.seen = []
    result = await _schema(RoundpoolExecutor, [_SeesEveryField]).execute("{ rows { text kind } }")
    assert result.errors is None
    assert _SeesEveryField.seen.count("Row.text") == 5
    assert _SeesEveryField.seen.count("Row.kind") == 5


@pytest.fixture
def counted_fields(schema: RoundpoolSchema) -> Iterator[list[str]]:
    """The application's schema with the counting executor, restored afterwards."""
    original = schema.execution_context_class
    _Counting.executed, _Counting.fields_of = [], []
    schema.execution_context_class = _Counting
    yield _Counting.executed
    schema.execution_context_class = original


async def test_the_application_schema_reads_a_pages_columns_in_line(
    gql: GraphQL, world: World, counted_fields: list[str], made_readers: list[int]
) -> None:
    owner = world.actor("startup_owner")
    # A text of this test's own, so that no other test has cached its document (and made its readers).
    query = "{ inLine: auditEvents(first: 5) { edges { node { id occurredAt action subjectType details } } } }"
    result = await gql(owner, query)
    assert made_readers == []  # seen once
    _Counting.fields_of = []
    assert await gql(owner, query) == result
    readers = list(made_readers)
    assert readers  # the connection's, on the cached document's second request
    _Counting.fields_of = []
    assert await gql(owner, query) == result
    assert made_readers == readers  # and the next requests reuse it
    assert "errors" not in result, result
    edges = result["data"]["inLine"]["edges"]
    assert edges
    assert all(set(e["node"]) == {"id", "occurredAt", "action", "subjectType", "details"} for e in edges)
    assert not [name for name in counted_fields if name.startswith("AuditEvent.")]
    # The connection's whole selection (its edges and their nodes) is read by one generated reader.
    assert "AuditEvent" not in _Counting.fields_of
    assert _Counting.fields_of.count("AuditEventConnection") == 1


@pytest.fixture
def made_readers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of fields of every reader generated (schema/selection_readers.py) while the test runs."""
    made: list[int] = []
    original = executor_module.reader_of

    def counting(fields: Any, slow: object) -> Any:
        made.append(len(fields))
        return original(fields, slow)

    monkeypatch.setattr(executor_module, "reader_of", counting)
    return made


async def test_a_pure_selection_is_read_by_one_generated_reader(made_readers: list[int]) -> None:
    query = (
        "{ fineHolders { kind: __typename row { text big } maybe { text } company { name slug } tags"
        " rows { text big } strictRows { text missing } } }"
    )
    schema = _schema(_Counting, [ParserCache])
    first = await schema.execute(query)
    assert made_readers == []  # a document seen once: no reader yet
    _Counting.fields_of, _Counting.executed = [], []
    ours = await schema.execute(query)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query)
    assert ours.errors is None
    assert ours.data == theirs.data == first.data
    assert ours.data["fineHolders"][0] == {
        "kind": "Holder",
        "row": {"text": "fine", "big": 1},
        "maybe": None,
        "company": {"name": "C", "slug": "c"},
        "tags": ["x", "y"],
        "rows": [{"text": "fine", "big": 1}, None],
        "strictRows": [{"text": "fine", "missing": "fine"}],
    }
    # Each holder's whole selection, nested objects and lists included, is one reader's call.
    assert _Counting.fields_of == ["Query", "Holder", "Holder", "Holder"]
    assert _Counting.executed == ["Query.fineHolders"]
    assert made_readers == [7]  # the holder's selection (the query's root has a resolver: not pure)
    await schema.execute(query)
    assert made_readers == [7]  # and the next execution reuses it


async def test_a_document_parsed_for_one_request_makes_no_reader_and_none_keeps_it(made_readers: list[int]) -> None:
    query = "{ fineHolders { row { text big } } }"
    schema = _schema(RoundpoolExecutor)  # no parser cache: every execution parses anew
    for _ in range(3):
        assert (await schema.execute(query)).errors is None
    assert made_readers == []
    document = parse(query)
    for _ in range(2):  # the same nodes twice: the second makes the reader
        result = graphql_execute(schema._schema, document, executor_class=RoundpoolExecutor)
        assert not inspect.isawaitable(result)  # the resolver is synchronous
        assert result.errors is None
        assert result.data == {"fineHolders": [{"row": {"text": "fine", "big": 1}}] * 3}
    assert made_readers == [1]
    kept = weakref.ref(document)
    del document, result
    gc.collect()
    assert kept() is None  # the readers hold the document's nodes weakly


async def test_a_reader_that_gives_up_leaves_the_errors_to_graphql_core(made_readers: list[int]) -> None:
    ours = await _served(RoundpoolExecutor, HOLDERS)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(HOLDERS)
    assert _outcome(ours) == _outcome(theirs)
    assert _outcome(ours)[1]  # the misbehaving holders' errors
    query = "{ strict { text big failing nestedException missing } }"
    made_readers.clear()
    ours = await _served(RoundpoolExecutor, query)
    assert made_readers  # the strict rows' selection is pure: its reader gave up on every misbehaving row
    assert _outcome(ours) == _outcome(await _schema(StrawberryGraphQLCoreExecutionContext).execute(query))


async def test_aliases_and_typenames_are_answered_under_their_response_names() -> None:
    # Two selections of the same type in one document: each has a reader of its own.
    query = "{ rows { a: text b: text number: kind c: __typename __typename } again: rows { number } }"
    ours = await _served(RoundpoolExecutor, query)
    theirs = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query)
    assert ours.errors is None
    assert ours.data == theirs.data
    assert ours.data["rows"][1] == {"a": "row 1", "b": "row 1", "number": "VC", "c": "Row", "__typename": "Row"}
    assert list(ours.data["rows"][1]) == ["a", "b", "number", "c", "__typename"]
    assert ours.data["again"][1] == {"number": 1}


@pytest.mark.parametrize(
    "query",
    [
        "query($with: Boolean!) { rows { text number @include(if: $with) } }",
        "query($with: Boolean!) { fineHolders { row { text big @include(if: $with) } } }",
        "query($with: Boolean!) { fineHolders { row { ...F @include(if: $with) } } } fragment F on StrictRow { text }",
        "query($with: Boolean!) { fineHolders { row { ... @skip(if: $with) { text } big } } }",
    ],
)
async def test_what_the_variables_include_is_never_read_by_a_reader_made_for_other_values(query: str) -> None:
    # Parsed once, as the served schema's document cache does: every execution sees the same field nodes.
    ours = _schema(RoundpoolExecutor, [ParserCache])
    theirs = _schema(StrawberryGraphQLCoreExecutionContext)
    answers = []
    for value in (True, False, True, False):
        mine = await ours.execute(query, variable_values={"with": value})
        assert _outcome(mine) == _outcome(await theirs.execute(query, variable_values={"with": value})), value
        answers.append(mine.data)
    assert answers[0] == answers[2] != answers[1] == answers[3]


def test_an_attribute_python_cannot_name_is_read_with_getattr() -> None:
    # Strawberry's own fields are identifiers; an attribute that is a keyword or not an identifier at all (a
    # field made programmatically) must still give valid source.
    from schema.selection_readers import Leaf, reader_of

    class Source:
        pass

    source = Source()
    setattr(source, "from", "kept")
    setattr(source, "not an identifier", "also kept")
    fields = (
        Leaf("a", "from", str, non_null=True, str_as_is=True),
        Leaf("b", "not an identifier", str, non_null=True, str_as_is=True),
    )
    assert reader_of(fields, object())(source) == {"a": "kept", "b": "also kept"}


class _HelpersOwner:
    """Stands in for an executor: the two methods graphql-core's resolver helpers call."""

    def __init__(self) -> None:
        self.tracked: list[Any] = []

    async def gather_async_work(self, values: list[Any]) -> list[Any]:
        return [await value for value in values]

    def track_async_work(self, values: list[Any]) -> None:
        self.tracked.extend(values)


async def test_the_resolver_helpers_reach_the_executor_weakly() -> None:
    owner = _HelpersOwner()
    helpers = executor_module._weak_helpers(cast(Any, owner))

    async def one() -> int:
        return 1

    assert await helpers.gather([one(), one()]) == [1, 1]
    helpers.track(["work"])
    assert owner.tracked == ["work"]
    gone = weakref.ref(owner)
    del owner
    assert gone() is None  # the helpers kept no reference to it
    with pytest.raises(RuntimeError, match="has ended"):
        helpers.track(["late"])


async def test_resolvers_get_working_helpers_from_the_executor() -> None:
    seen: list[object] = []

    @strawberry.type
    class Query:
        @strawberry.field
        async def both(self, info: strawberry.Info) -> list[int]:
            async def value(n: int) -> int:
                return n

            seen.append(info._raw_info.async_helpers)
            return list(await info._raw_info.async_helpers.gather([value(1), value(2)]))

    schema = strawberry.Schema(query=Query, execution_context_class=RoundpoolExecutor)
    result = await schema.execute("{ both }")
    assert result.errors is None
    assert result.data == {"both": [1, 2]}
    assert len(seen) == 1
    gc.collect()
    with pytest.raises(RuntimeError, match="has ended"):  # its executor was freed with the execution
        seen[0].track([])  # type: ignore[attr-defined]
