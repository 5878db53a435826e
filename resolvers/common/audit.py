"""The audit trail: its owners and admins read it; every read through a grant is written to it.

A read through a grant is audited before its data leaves, in a committed step of its own. The request's
transaction may still roll back after a field has read granted rows (a sibling's unexpected failure, a
statement timeout, a failed commit), and by then graphql-core has the data in its result: an audit row in
that transaction would vanish while the data is sent. So `audit_granted_reads` writes the `grant.read`
events in a short side transaction, with the request's user and tenant context and through the app role's
policies (`app.record_grant_read` logs only tenants whose grant for the scope is active), and returns only
once it committed. A resolver awaits it before returning its rows, so when the audit cannot be committed the
field fails and its data is never in the response. Reads of one event-loop tick share one side transaction
(a DataLoader), so a list of N companies costs one commit, not N.

Chosen over failing the whole response on rollback: the rest of a document still answers, and the rule does
not depend on knowing whether a commit really happened. A grant revoked or expired between the read and the
audit (milliseconds) leaves that read unlogged, as it would inside one transaction under READ COMMITTED.
"""

from __future__ import annotations

from uuid import UUID

from db.pagination import Page
from db.queries import audit
from db.queries.audit import GrantRead
from db.records import AuditEventRecord
from policies.principal import ADMIN_ROLES
from resolvers.common.context import RequestContext
from resolvers.common.pages import PageRequest


async def audit_granted_reads(ctx: RequestContext, tenant_ids: list[UUID], scope: str, subject: str) -> None:
    """Log reads of other tenants' rows (those came through a grant) in their trails; committed on return."""
    acting = ctx.require_tenant()
    # Distinct and in uuid order, by their integers: UUID's own hash and comparisons are Python methods, and a
    # portfolio passes hundreds.
    by_int = {t.int: t for t in tenant_ids}
    by_int.pop(acting.id.int, None)
    foreign = tuple(by_int[key] for key in sorted(by_int))
    if foreign:
        await ctx.loaders.grant_read.load(GrantRead(foreign, scope, subject))


async def audit_events(ctx: RequestContext, page: PageRequest) -> Page[AuditEventRecord]:
    acting = ctx.require_role(ADMIN_ROLES)
    return await audit.audit_page(ctx.tx, acting.id, page)
