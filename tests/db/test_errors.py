"""db/errors.py's mapping of the driver's errors (as SQLAlchemy wraps them) to its own classes."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

from db.errors import (
    ConstraintViolation,
    DatabaseError,
    InvalidValue,
    PolicyViolation,
    StatementTimeout,
    UniqueViolation,
    mapped_errors,
)


def _wrapped(error: psycopg.Error) -> DBAPIError:
    wrapped = DBAPIError.instance("select 1", {}, error, psycopg.Error)
    assert isinstance(wrapped, DBAPIError)
    return wrapped


@pytest.mark.parametrize(
    ("driver", "mapped"),
    [
        (psycopg.errors.InsufficientPrivilege("new row violates row-level security policy"), PolicyViolation),
        (psycopg.errors.UniqueViolation("duplicate key"), UniqueViolation),
        (psycopg.errors.ForeignKeyViolation("no such parent"), ConstraintViolation),
        (psycopg.errors.NumericValueOutOfRange("out of range"), InvalidValue),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), StatementTimeout),
    ],
)
def test_a_driver_error_arrives_as_its_class_caused_by_it(driver: psycopg.Error, mapped: type[DatabaseError]) -> None:
    wrapped = _wrapped(driver)
    with pytest.raises(mapped, match=str(driver)) as raised, mapped_errors():
        raise wrapped
    assert raised.value.__cause__ is wrapped


def test_an_error_without_a_class_passes_unchanged() -> None:
    wrapped = _wrapped(psycopg.errors.SerializationFailure("could not serialize"))
    with pytest.raises(DBAPIError) as raised, mapped_errors():
        raise wrapped
    assert raised.value is wrapped
    assert raised.value.__cause__ is None  # not made its own cause


def test_other_errors_and_clean_blocks_pass_through() -> None:
    with pytest.raises(KeyError), mapped_errors():
        raise KeyError("x")
    with mapped_errors():
        pass
    with mapped_errors(), mapped_errors():  # one block inside another (the one instance is stateless)
        pass
