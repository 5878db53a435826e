"""What every mutation root shares: turning a resolver's expected failure into a union member."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

from resolvers.common.errors import ApiError
from schema.types.problems import Problem, ProblemType, problem_from

T = TypeVar("T")
P1 = TypeVar("P1", bound=Problem)
P2 = TypeVar("P2", bound=Problem)
P3 = TypeVar("P3", bound=Problem)


@overload
async def outcome(make: Callable[[], Awaitable[T]]) -> T | ProblemType: ...
@overload
async def outcome(make: Callable[[], Awaitable[T]], allowed: tuple[type[P1], type[P2]]) -> T | P1 | P2: ...
@overload
async def outcome(
    make: Callable[[], Awaitable[T]], allowed: tuple[type[P1], type[P2], type[P3]]
) -> T | P1 | P2 | P3: ...
async def outcome(make: Callable[[], Awaitable[T]], allowed: tuple[type[Problem], ...] | None = None) -> T | Problem:
    """The mutation's result, or the problem type matching the ApiError its resolver raised.

    `allowed` names the problems the field's result union has; any other stays an error (the union has no
    member for it), so the type says exactly what the union holds."""
    try:
        return await make()
    except ApiError as error:
        problem = problem_from(error)
        if allowed is not None and not isinstance(problem, allowed):
            raise
        return problem
