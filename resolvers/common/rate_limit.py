"""Requests per minute per tenant (per user without an acting tenant, per client address when anonymous): one
token bucket per key in PostgreSQL (policies/sql/0016_rate_limits.sql), so every API process shares it.

A process leases up to a second's worth of a bucket's tokens at once (app.rate_limit_lease, revision 0019) and
spends them locally, so a busy tenant costs one round trip per lease rather than per request. A lease lasts
`LEASE_S`: its unspent tokens are then dropped, never returned, so the processes together admit at most what
the bucket grants (a little less while leases go unspent). Below 120 requests a minute a lease is one token,
which is the bucket taken per request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from db.errors import DatabaseUnavailable
from db.session import Database
from policies.principal import Principal

_LEASE = text("select granted, wait_s from app.rate_limit_lease(:key, :capacity, :per_second, :wanted)")
LEASE_S = 1.0
_MAX_LEASES = 10_000  # keys remembered by one process; the oldest leases are forgotten first


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


@dataclass
class _Lease:
    tokens: int
    until: float


@dataclass
class RateLimiter:
    database: Database
    per_minute: int
    _leases: dict[str, _Lease] = field(default_factory=dict, init=False, repr=False)

    @property
    def lease_size(self) -> int:
        return max(1, self.per_minute // 60)

    async def take(self, key: str) -> None:
        """Takes a token for `key` or raises :class:`RateLimited`; the burst is a minute's worth of requests."""
        now = time.monotonic()
        lease = self._leases.get(key)
        if lease is not None and lease.tokens > 0 and now < lease.until:
            lease.tokens -= 1
            return
        granted, wait = await self._lease(key)
        if granted < 1:
            raise RateLimited(retry_after=max(1, math.ceil(wait)))
        if granted > 1:
            self._remember(key, _Lease(granted - 1, now + LEASE_S))
        else:
            self._leases.pop(key, None)

    async def _lease(self, key: str) -> tuple[int, float]:
        params = {
            "key": key,
            "capacity": float(self.per_minute),
            "per_second": self.per_minute / 60,
            "wanted": self.lease_size,
        }
        # The side pool: a request takes its token while it holds a connection of the main pool. Its connections
        # are not pinged: one the server dropped fails this statement, which ran nothing, and is retried once.
        for retry in (True, False):
            connection = self.database.side_connection()
            try:
                await connection.start()
            except (DBAPIError, PoolTimeout) as error:  # no connection to be had: the client may retry
                raise DatabaseUnavailable(f"the rate-limit bucket cannot be reached: {error}") from error
            try:
                granted, wait = (await connection.execute(_LEASE, params)).one()
                await connection.commit()
                return int(granted), float(wait)
            except DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                if not retry:
                    raise DatabaseUnavailable(f"the rate-limit bucket cannot be reached: {error}") from error
            finally:
                await connection.close()
        raise AssertionError("unreachable")

    def _remember(self, key: str, lease: _Lease) -> None:
        self._leases.pop(key, None)
        self._leases[key] = lease
        while len(self._leases) > _MAX_LEASES:
            del self._leases[next(iter(self._leases))]
