"""Database-layer errors, mapped from PostgreSQL's SQLSTATE where the caller needs to tell them apart.

The mapping happens once, in db/session.py's RequestTransaction: every statement it runs (inside its shielded
task, so the caller sees the mapped error), every savepoint and the commit pass through `mapped_errors()`; a
connection that cannot be had is told apart where every transaction, main or side, takes one (its opening).
Query functions do not map again; statements on a raw connection (a side connection, psycopg) are not mapped.

DatabaseError
 ├── MissingContext      a transaction began without a user (a bug: the request never authenticated)
 ├── TransactionClosed   a statement arrived after the request's transaction ended
 ├── PolicyViolation     a row-level security check or missing privilege refused the statement (42501)
 ├── ConstraintViolation a check, unique or foreign-key constraint, or a trigger's check (23xxx)
 │    └── UniqueViolation  the row exists already (23505)
 ├── StatementTimeout    the statement ran past the request's statement_timeout (57014)
 ├── DatabaseUnavailable a transaction could not get a working connection: the server (or PgBouncer's
 │                       query_wait_timeout) refused or dropped it before the transaction's first statement ran
 └── InvalidValue        a value the column's type cannot hold: out of range, bad text, NUL (22xxx)
"""

from __future__ import annotations

from types import TracebackType

import psycopg.errors
from sqlalchemy.exc import DBAPIError


class DatabaseError(Exception):
    pass


class MissingContext(DatabaseError):
    pass


class TransactionClosed(DatabaseError):
    pass


class PolicyViolation(DatabaseError):
    pass


class ConstraintViolation(DatabaseError):
    """`constraint` and `column` are PostgreSQL's names for what refused the row, when it reports them."""

    def __init__(self, message: str, *, constraint: str | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint
        self.column = column


class UniqueViolation(ConstraintViolation):
    pass


class StatementTimeout(DatabaseError):
    pass


class InvalidValue(DatabaseError):
    pass


class DatabaseUnavailable(DatabaseError):
    """Raised by the transaction's opening (db/session.py), which alone knows that nothing ran yet. Its
    message carries the driver's reason, which may name the server: for the log, never for a client."""


def _message(error: BaseException) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return primary or str(error)


def timed_out(error: BaseException) -> bool:
    """Whether `error` is the statement timeout, mapped or still the driver's."""
    if isinstance(error, StatementTimeout):
        return True
    return isinstance(error, DBAPIError) and isinstance(error.orig, psycopg.errors.QueryCanceled)


class _MappedErrors:
    """The block of :func:`mapped_errors`. A class rather than a generator-based context manager: every
    statement of a request enters one, and this costs a third of the generator's set-up. It holds no state,
    so one instance serves every block, nested or concurrent."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        mapped = _mapped(exc) if isinstance(exc, DBAPIError) else None
        if mapped is not None:
            raise mapped from exc


_MAPPED_ERRORS = _MappedErrors()


def mapped_errors() -> _MappedErrors:
    """Translate the driver's errors raised inside the block into this module's classes."""
    return _MAPPED_ERRORS


def _mapped(wrapped: DBAPIError) -> DatabaseError | None:
    """`wrapped`'s class in this module; None when none applies (it propagates as it is)."""
    original = wrapped.orig
    if isinstance(original, psycopg.errors.InsufficientPrivilege):
        return PolicyViolation(_message(original))
    diag = getattr(original, "diag", None)
    names = {"constraint": getattr(diag, "constraint_name", None), "column": getattr(diag, "column_name", None)}
    if isinstance(original, psycopg.errors.UniqueViolation):
        return UniqueViolation(_message(original), **names)
    if isinstance(original, psycopg.errors.IntegrityError):
        return ConstraintViolation(_message(original), **names)
    if isinstance(original, psycopg.DataError):
        return InvalidValue(_message(original))
    if isinstance(original, psycopg.errors.QueryCanceled):
        return StatementTimeout(_message(original))
    return None
