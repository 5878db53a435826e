"""The row budget's rules: fields take turns, charge what they return, and one past the limit stops the rest
before they compute; a charged function calling another charged one does not wait on itself."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.common.budget import RowBudget, RowBudgetExceeded, charged


class _Ctx:
    def __init__(self, limit: int) -> None:
        self.row_budget = RowBudget(limit)
        self.computed: list[int] = []


@charged("rows")
async def _rows(ctx: _Ctx, count: int) -> list[int]:
    ctx.computed.append(count)
    await asyncio.sleep(0)
    return list(range(count))


@charged("outer")
async def _outer(ctx: _Ctx, count: int) -> list[int]:
    return await _rows(ctx, count)


async def test_later_fields_are_refused_without_computing() -> None:
    ctx = _Ctx(limit=25)
    results = await asyncio.gather(*(_rows(ctx, 10) for _ in range(6)), return_exceptions=True)
    assert [r for r in results if isinstance(r, list)] == [list(range(10))] * 2
    refused = [r for r in results if isinstance(r, RowBudgetExceeded)]
    assert len(refused) == 4
    assert ctx.computed == [10, 10, 10]  # the third ran and went past; the last three never ran
    assert "more than 25 rows" in str(refused[0])
    assert "ROUNDPOOL_MAX_RESPONSE_ROWS" in str(refused[0])


async def test_nested_charged_calls_count_once_and_do_not_deadlock() -> None:
    ctx = _Ctx(limit=10)
    assert await asyncio.wait_for(_outer(ctx, 10), timeout=5) == list(range(10))
    assert ctx.row_budget.used == 10
    with pytest.raises(RowBudgetExceeded):
        await _outer(ctx, 1)
