"""The one way a request begins: `open_request(runtime, identity)` opens its transaction, resolves its
principal inside it, and yields an immutable RequestContext. HTTP, WebSocket subscriptions, the CLI and the
jobs all enter here.

One transaction per request, sealed before the work begins. A token's request opens it with
`app.open_request` (policies/sql/0019_request_context.sql), which provisions the user, resolves the membership
and binds the context in the same round trip as BEGIN. A Member (CLI, jobs) is resolved step by step: its
membership read as the user alone, then re-bound to the user acting for the tenant by
`RequestTransaction.narrow`; a Principal (a subscription's polls) is bound as it is. What stays
outside it, on purpose: the rate-limit bucket (its own short statement, see resolvers/common/rate_limit.py) and the
audit of reads through a grant (side transactions that commit before the data leaves, resolvers/common/audit.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cost.locations import NO_SOURCES, CostSources
from cost.store import CostStore
from db.queries.onboarding import OpenedRequest
from db.session import NOBODY, Database, DbContext, RequestTransaction
from policies.principal import Principal
from resolvers.common.context import RequestContext
from resolvers.common.limits import RequestLimits
from resolvers.common.principals import Credentials, Identity, Member, db_context, open_for_token, resolve


@dataclass(frozen=True)
class RequestRuntime:
    """What every request of a process shares, built once from the settings where the process starts."""

    database: Database
    max_page_size: int
    cost_store: CostStore | None = None
    # Where imports may read (configuration); the default refuses every location.
    cost_sources: CostSources = NO_SOURCES
    limits: RequestLimits = field(default_factory=RequestLimits)
    invoice_font: Path | None = None  # ROUNDPOOL_INVOICE_FONT; None: the system fonts


@asynccontextmanager
async def open_request(
    runtime: RequestRuntime, identity: Identity | None, *, request_id: str
) -> AsyncIterator[RequestContext]:
    """The request's context for the block; its transaction commits when the block ends cleanly and rolls
    back otherwise. No identity: an anonymous context without a transaction (every field that needs one is
    UNAUTHENTICATED). Raises AuthenticationFailed / TenantNotAllowed before the block runs."""
    if identity is None:
        yield RequestContext(request_id=request_id, runtime=runtime)
        return
    async with runtime.database.transaction(_first_context(identity)) as tx:
        principal, opened = await _principal(tx, identity)
        tx.seal()
        context = RequestContext(request_id=request_id, runtime=runtime, principal=principal, transaction=tx)
        if opened is not None:  # the rows the opening read: `me` and the acting tenant cost no statement
            context.loaders.know(opened.user, opened.tenant)
        yield context


def _first_context(identity: Identity) -> DbContext:
    if isinstance(identity, Credentials):
        return NOBODY
    if isinstance(identity, Member):
        return DbContext(user_id=identity.user_id)
    return db_context(identity)


async def _principal(tx: RequestTransaction, identity: Identity) -> tuple[Principal, OpenedRequest | None]:
    if isinstance(identity, Principal):
        return identity, None
    if isinstance(identity, Credentials):
        return await open_for_token(tx, identity)  # bound in the same round trip
    principal = await resolve(tx, identity.user_id, identity.tenant)
    if principal.tenant is not None:
        await tx.narrow(db_context(principal))
    return principal, None
