"""Rate-limit leases against the real bucket (app.rate_limit_lease, revision 0019): a process spends a lease
locally without a round trip, every process together admits no more than the bucket grants, an expired lease
goes back to the bucket, and the app role still cannot reach the bucket other than through the functions."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.session import Database
from resolvers.common import rate_limit
from resolvers.common.rate_limit import RateLimited, RateLimiter


def _bucket(owner_conn: psycopg.Connection, key: str) -> tuple[float, Any] | None:
    row = owner_conn.execute("select tokens, updated_at from app.rate_limit_buckets where key = %s", (key,)).fetchone()
    return None if row is None else (row[0], row[1])


async def test_a_lease_is_spent_locally_then_renewed(database: Database, owner_conn: psycopg.Connection) -> None:
    key = f"test:{uuid.uuid4()}"
    limiter = RateLimiter(database, per_minute=600)  # a second's worth: 10 tokens a lease
    assert limiter.lease_size == 10
    await limiter.take(key)
    leased = _bucket(owner_conn, key)
    assert leased is not None
    assert leased[0] == pytest.approx(590)
    for _ in range(9):
        await limiter.take(key)
    assert _bucket(owner_conn, key) == leased  # nine requests, no round trip
    await limiter.take(key)
    renewed = _bucket(owner_conn, key)
    assert renewed is not None
    assert renewed[1] > leased[1]
    assert renewed[0] < 590
    owner_conn.execute("delete from app.rate_limit_buckets where key = %s", (key,))


async def test_processes_together_never_admit_more_than_the_bucket_grants(
    database: Database, owner_conn: psycopg.Connection
) -> None:
    key = f"test:{uuid.uuid4()}"
    per_minute = 300  # 5 tokens a lease, 5 a second refilled
    processes = [RateLimiter(database, per_minute=per_minute) for _ in range(3)]
    started = time.monotonic()
    admitted = refused = 0
    for turn in range(400):
        try:
            await processes[turn % 3].take(key)
            admitted += 1
        except RateLimited:
            refused += 1
    elapsed = time.monotonic() - started
    assert refused > 0
    assert admitted <= per_minute + per_minute / 60 * elapsed + 1
    owner_conn.execute("delete from app.rate_limit_buckets where key = %s", (key,))


async def test_an_expired_lease_goes_back_to_the_bucket(
    database: Database, owner_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limit, "LEASE_S", 0.05)
    key = f"test:{uuid.uuid4()}"
    limiter = RateLimiter(database, per_minute=600)
    await limiter.take(key)
    leased = _bucket(owner_conn, key)
    await asyncio.sleep(0.1)
    await limiter.take(key)  # nine tokens left, but the lease has expired
    renewed = _bucket(owner_conn, key)
    assert leased is not None
    assert renewed is not None
    assert renewed[1] > leased[1]
    owner_conn.execute("delete from app.rate_limit_buckets where key = %s", (key,))


@pytest.mark.parametrize("wanted", [0, -1, 61])
async def test_a_lease_outside_its_bounds_is_refused(database: Database, wanted: int) -> None:
    async with database.side_connection() as conn:
        with pytest.raises(DBAPIError, match="a lease needs"):
            await conn.execute(
                text("select * from app.rate_limit_lease('test:bounds', 60, 1, :wanted)"), {"wanted": wanted}
            )
