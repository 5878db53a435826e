"""Progress subscriptions: poll a job through the same resolver as its query, each poll in its own short
transaction under the subscriber's context (RLS decides what it sees, as for the query), and yield the object
whenever it changed until its status is final.

A subscription runs longer than any request, so it never holds a transaction or a loader cache between polls:
every poll is a request of its own (`open_request` with the principal resolved at subscribe time): its own
loaders, row budget and transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError, Unauthenticated
from resolvers.common.request import open_request

T = TypeVar("T")


class SubscriptionExpired(ApiError):
    """The subscription outlived ROUNDPOOL_SUBSCRIPTION_MAX_LIFETIME_S; subscribe again to keep following."""

    code = "SUBSCRIPTION_EXPIRED"


@dataclass(frozen=True, eq=False, kw_only=True)
class SubscriptionContext(RequestContext):
    """A subscription's context (no transaction): who subscribed, the runtime each poll opens a request
    with, and how to poll."""

    poll_interval_s: float
    max_lifetime_s: float


async def progress(
    ctx: RequestContext, read: Callable[[RequestContext], Awaitable[T]], final: Callable[[T], bool]
) -> AsyncIterator[T]:
    """`read`'s value at once and after every change, polled until `final` holds for it (then the stream ends),
    or until the lifetime is over (then :class:`SubscriptionExpired`)."""
    if not isinstance(ctx, SubscriptionContext):  # a subscription needs the transport that opens its polls
        raise Unauthenticated("subscriptions run over the graphql-transport-ws protocol")
    ctx.require_principal()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.max_lifetime_s
    last: T | None = None
    while True:
        current = await _poll(ctx, read)
        if current != last:
            yield current
            last = current
        if final(current):
            return
        if loop.time() + ctx.poll_interval_s > deadline:
            raise SubscriptionExpired(
                f"the subscription ended after {ctx.max_lifetime_s:g} s before a final status; subscribe again"
            )
        await asyncio.sleep(ctx.poll_interval_s)


async def _poll(ctx: SubscriptionContext, read: Callable[[RequestContext], Awaitable[T]]) -> T:
    async with open_request(ctx.runtime, ctx.require_principal(), request_id=ctx.request_id) as poll:
        return await read(poll)
