"""What every mutation root shares: turning a resolver's expected failure into a union member, and ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import strawberry

from resolvers.common.errors import ApiError, InvalidInput
from schema.types.problems import problem_from

T = TypeVar("T")


async def outcome(make: Callable[[], Awaitable[T]]) -> Any:
    """The mutation's result, or the problem type matching the ApiError its resolver raised."""
    try:
        return await make()
    except ApiError as error:
        return problem_from(error)


def parse_id(value: strawberry.ID, field: str = "id") -> UUID:
    try:
        return UUID(str(value))
    except ValueError as error:
        raise InvalidInput(f"{value!r} is not an id", field=field) from error


def parse_optional_id(value: strawberry.ID | None, field: str = "id") -> UUID | None:
    return None if value is None else parse_id(value, field)
