"""A request's budget of rows for list fields that are not paginated, shared by every alias.

Aliases multiply work: thirty `costs` fields of 10,000 groups each would build and serialise 300,000 rows in one
response. Each such field runs its computation in the request's single turn (so the fields of one request queue
behind each other instead of taking every worker thread from other tenants' requests) and charges the rows it
returns; once the request's total passes the limit, the field, and every later one, fails with
:class:`RowBudgetExceeded` without computing anything more.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Sized
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from resolvers.common.errors import ApiError

SETTING = "ROUNDPOOL_MAX_RESPONSE_ROWS"

P = ParamSpec("P")
R = TypeVar("R", bound=Sized)

# Set while a field holds its request's turn, so a charged function that calls another does not wait on itself.
_holding: contextvars.ContextVar[RowBudget | None] = contextvars.ContextVar("row_budget_turn", default=None)


class RowBudgetExceeded(ApiError):
    code = "ROW_BUDGET_EXCEEDED"

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(
            f"{field}: this request's list fields would return more than {limit} rows in all (aliases count "
            f"together; the limit is {SETTING}); ask for fewer fields, narrow the filter or group by less"
        )
        self.field = field
        self.limit = limit


class RowBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._turn = asyncio.Lock()

    def check(self, field: str) -> None:
        if self.used >= self.limit:
            raise RowBudgetExceeded(field, self.limit)

    def charge(self, field: str, rows: int) -> None:
        self.used += rows
        if self.used > self.limit:
            raise RowBudgetExceeded(field, self.limit)

    async def run(self, field: str, work: Callable[[], Awaitable[R]]) -> R:
        """Run `work` in this request's turn and charge the rows it returns."""
        if _holding.get() is self:
            return await work()
        async with self._turn:
            self.check(field)
            token = _holding.set(self)
            try:
                rows = await work()
            finally:
                _holding.reset(token)
            self.charge(field, len(rows))
            return rows


class _HasBudget(Protocol):
    @property
    def row_budget(self) -> RowBudget: ...


C = TypeVar("C", bound=_HasBudget)


def charged(
    field: str,
) -> Callable[[Callable[Concatenate[C, P], Awaitable[R]]], Callable[Concatenate[C, P], Awaitable[R]]]:
    """Decorate a resolver function `(ctx, …) -> rows` so its rows count against the request's budget."""

    def decorate(fn: Callable[Concatenate[C, P], Awaitable[R]]) -> Callable[Concatenate[C, P], Awaitable[R]]:
        @functools.wraps(fn)
        async def wrapper(ctx: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
            return await ctx.row_budget.run(field, lambda: fn(ctx, *args, **kwargs))

        return wrapper

    return decorate
