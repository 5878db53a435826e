"""One stage of a background job as one request: the job's arguments name its requester (a `Member`), and
every stage resolves that requester again under its own transaction, so a requester who left the tenant
is refused at the next stage, as one whose role no longer shows the job's row is."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from resolvers.common.context import RequestContext
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request


class JobRefused(Exception):
    """The job's row is not visible to its requester's context any more (role revoked, member gone, row gone)."""


@asynccontextmanager
async def job_request(runtime: RequestRuntime, requester: Member, refusal: str) -> AsyncIterator[RequestContext]:
    """`open_request` as the requester; JobRefused(`refusal`) when the requester is no longer a member."""
    try:
        async with open_request(runtime, requester, request_id=uuid.uuid4().hex) as ctx:
            yield ctx
    except (AuthenticationFailed, TenantNotAllowed) as error:
        raise JobRefused(refusal) from error
