"""Requests per minute per tenant (per user without an acting tenant, per client address when anonymous): one
token bucket per key in PostgreSQL (policies/sql/0016_rate_limits.sql), so every API process shares it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text

from db.session import Database
from policies.principal import Principal

_TAKE = text("select app.rate_limit_take(:key, :capacity, :per_second)")


class RateLimited(Exception):
    """The key's bucket is empty; a token is back in `retry_after` seconds."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry in {retry_after} s")
        self.retry_after = retry_after


def bucket_key(principal: Principal | None, client_address: str | None) -> str:
    if principal is None:
        return f"ip:{client_address or 'unknown'}"
    if principal.tenant is not None:
        return f"tenant:{principal.tenant.id}"
    return f"user:{principal.user_id}"


@dataclass(frozen=True)
class RateLimiter:
    database: Database
    per_minute: int

    async def take(self, key: str) -> None:
        """Takes a token for `key` or raises :class:`RateLimited`; the burst is a minute's worth of requests."""
        # The side pool: a request takes its token while it holds a connection of the main pool.
        async with self.database.side_connection() as conn:
            wait = (
                await conn.execute(
                    _TAKE, {"key": key, "capacity": float(self.per_minute), "per_second": self.per_minute / 60}
                )
            ).scalar_one()
            await conn.commit()
        if wait > 0:
            raise RateLimited(retry_after=max(1, math.ceil(wait)))
