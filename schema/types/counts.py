"""The `Count` scalar: a whole number of bytes or rows that can pass 2³¹ (a multi-GB report), sent as a JSON
integer. GraphQL's `Int` is 32-bit and `Float` prints `1281.0`; neither says what a count is."""

from __future__ import annotations

from typing import NewType

import strawberry

Count = NewType("Count", int)


def _parse_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("a Count is a whole number ≥ 0")
    return value


COUNT = strawberry.scalar(
    name="Count",
    description="A whole number of bytes or rows (≥ 0), as a JSON integer; may exceed 32 bits",
    serialize=int,
    parse_value=_parse_count,
)
