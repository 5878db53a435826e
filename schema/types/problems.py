"""Expected failures of mutations, as members of each mutation's result union."""

from __future__ import annotations

import strawberry

from resolvers.common.errors import ApiError, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


@strawberry.interface
class Problem:
    message: str


@strawberry.type
class NotAllowed(Problem):
    pass


@strawberry.type(name="NotFound")
class NotFoundProblem(Problem):
    pass


@strawberry.type(name="InvalidInput")
class InvalidInputProblem(Problem):
    field: str | None


@strawberry.type(name="Conflict")
class ConflictProblem(Problem):
    pass


ProblemType = NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem


def problem_from(error: ApiError) -> ProblemType:
    if isinstance(error, Forbidden | Unauthenticated):
        return NotAllowed(message=error.message)
    if isinstance(error, NotFound):
        return NotFoundProblem(message=error.message)
    if isinstance(error, InvalidInput):
        return InvalidInputProblem(message=error.message, field=error.field)
    if isinstance(error, Conflict):
        return ConflictProblem(message=error.message)
    raise error
