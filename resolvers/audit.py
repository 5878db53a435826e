"""The acting tenant's audit trail, for its owners and admins."""

from __future__ import annotations

from db.pagination import Page
from db.queries import audit
from db.records import AuditEventRecord
from policies.principal import ADMIN_ROLES
from resolvers.context import RequestContext
from resolvers.errors import InvalidInput
from resolvers.pages import PageRequest


async def audit_events(ctx: RequestContext, page: PageRequest) -> Page[AuditEventRecord]:
    acting = ctx.require_role(ADMIN_ROLES)
    after = None
    if page.after:
        if not isinstance(page.after[0], int):
            raise InvalidInput("malformed cursor", field="after")
        after = [page.after[0]]
    return await audit.audit_page(ctx.tx, acting.id, after, page.first)
