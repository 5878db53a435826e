"""`?prepare_threshold=` in DATABASE_URL: psycopg's option, taken out of what libpq reads (which refuses it)."""

import pytest
from pydantic import ValidationError

from db.location import InvalidDatabaseUrl, driver_dsn
from schema.settings import Settings


@pytest.mark.parametrize(
    ("url", "conninfo", "threshold"),
    [
        (
            "postgresql://app:pw@bouncer:6432/roundpool?prepare_threshold=none",
            "postgresql://app:pw@bouncer:6432/roundpool",
            None,
        ),
        (
            "postgresql://app@/db?host=/run/pg&prepare_threshold=0&sslmode=disable",
            "postgresql://app@/db?host=/run/pg&sslmode=disable",
            0,
        ),
        ("postgresql://app@h/db?prepare%5Fthreshold=NONE", "postgresql://app@h/db", None),
    ],
)
def test_the_option_becomes_a_driver_argument_and_leaves_the_rest_byte_for_byte(
    url: str, conninfo: str, threshold: int | None
) -> None:
    dsn = driver_dsn(url)
    assert (dsn.conninfo, dsn.connect_args) == (conninfo, {"prepare_threshold": threshold})


@pytest.mark.parametrize("url", ["postgresql://app@h/db", "postgresql://app@h/db?sslmode=require", "host=h dbname=db"])
def test_a_dsn_without_the_option_is_unchanged(url: str) -> None:
    assert (driver_dsn(url).conninfo, driver_dsn(url).connect_args) == (url, {})


@pytest.mark.parametrize(
    "query",
    [
        "prepare_threshold=",
        "prepare_threshold=-1",
        "prepare_threshold=off",
        "prepare_threshold=1&prepare_threshold=none",
    ],
)
def test_an_unclear_value_is_refused_without_quoting_the_dsn(query: str) -> None:
    with pytest.raises(InvalidDatabaseUrl) as refused:
        driver_dsn(f"postgresql://app:s3cret@h/db?{query}")
    assert "prepare_threshold" in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_settings_refuse_an_unclear_value_at_start_up() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url="postgresql://app:s3cret@h/db?prepare_threshold=sometimes")
    assert refused.value.errors()[0]["loc"] == ("DATABASE_URL",)
    assert "s3cret" not in str(refused.value.errors(include_input=False))


def test_a_side_database_names_where_side_transactions_connect() -> None:
    dsn = driver_dsn("postgresql://app:pw@bouncer:6432/roundpool?side_database=roundpool_side&prepare_threshold=none")
    assert dsn.conninfo == "postgresql://app:pw@bouncer:6432/roundpool"
    assert dsn.side_conninfo == "postgresql://app:pw@bouncer:6432/roundpool_side"
    assert driver_dsn("postgresql://app@h/db").side_conninfo == "postgresql://app@h/db"


@pytest.mark.parametrize("name", ["", "a/b", "x?host=evil", "a%20b"])
def test_a_side_database_that_is_not_a_plain_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidDatabaseUrl):
        driver_dsn(f"postgresql://app@h/db?side_database={name}")
