"""json/jsonb values read by the engines (db/json_values.py) exactly as the standard library reads them,
orjson's speed notwithstanding: integers beyond 64 bits stay integers, numbers beyond a double stay infinite."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from db.compiled import compiled
from db.json_values import loads
from db.session import Database, DbContext
from tests.plugins.world import World

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(_VALUES)
def test_any_document_reads_as_the_standard_library_reads_it(value: Any) -> None:
    document = json.dumps(value)
    expected = json.loads(document)
    assert loads(document.encode()) == expected
    assert loads(memoryview(document.encode())) == expected
    assert loads(document) == expected


def test_integers_beyond_64_bits_stay_exact_and_huge_numbers_infinite() -> None:
    assert loads(b'{"shares": 123456789012345678901234567890}') == {"shares": 123456789012345678901234567890}
    assert loads(b"[-9223372036854775809, 18446744073709551616]") == [-9223372036854775809, 18446744073709551616]
    assert loads(b"1e400") == math.inf


_BIG = '{"shares": 123456789012345678901234567890, "price": 0.1, "at": "2026-01-01"}'


async def test_the_engine_reads_jsonb_exactly_on_both_paths(database: Database, world: World) -> None:
    owner = world.actor("startup_owner")
    assert owner.user_id is not None
    expected = {"shares": 123456789012345678901234567890, "price": 0.1, "at": "2026-01-01"}
    async with database.transaction(DbContext(user_id=owner.user_id)) as tx:
        through_core = (await tx.execute(text("select cast(:doc as jsonb)"), {"doc": _BIG})).scalar_one()
        (through_driver,) = await tx.fetch(compiled(text("select cast(:doc as jsonb) as doc")), {"doc": _BIG})
    assert through_core == expected
    assert through_driver == (expected,)
