"""The periodic vacuum of every operator's cost store: import folders no catalog and no assembly still staging
uses (replaced imports, dead attempts) are deleted.

The scheduler (:func:`queue_vacuums`, a periodic task) reads only ids across operators and defers one job per
operator with the operator's store lock, the lock single-file imports and publications take, so no import
writes an unpublished folder and no catalog changes while the job lists and deletes. The job
(:func:`run_store_vacuum`) acts as one of that operator's billing admins, so the assemblies still staging
(their parts write without the lock) are read under the policies by
:func:`resolvers.costs.assemblies.vacuum_store`.
"""

from __future__ import annotations

import logging
import uuid

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from cost import CostStore
from db.queries import cost_stores
from db.session import Database
from resolvers.common.errors import ApiError
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import RequestRuntime, open_request
from resolvers.costs.assemblies import vacuum_store
from resolvers.costs.imports import store_lock

VACUUM_TASK = "vacuum_cost_store"
_logger = logging.getLogger("roundpool.jobs")


async def queue_vacuums(job_app: procrastinate.App, database: Database) -> int:
    """One vacuum job per operator that has imported anything (at most one waiting each); returns how many."""
    async with database.engine.connect() as conn:
        due = await cost_stores.stores_to_vacuum(conn)
    task = job_app.tasks[VACUUM_TASK]
    count = 0
    for store in due:
        try:
            await task.configure(
                lock=store_lock(store.tenant_id), queueing_lock=f"{VACUUM_TASK}:{store.tenant_id}"
            ).defer_async(tenant_id=str(store.tenant_id), user_id=str(store.user_id))
        except AlreadyEnqueued:
            continue
        count += 1
    return count


async def run_store_vacuum(database: Database, store: CostStore, requester: Member) -> list[str] | None:
    """Vacuum the job's operator's store as the job's user; None when that user may not (any more)."""
    runtime = RequestRuntime(database, max_page_size=1, cost_store=store)
    try:
        async with open_request(runtime, requester, request_id=uuid.uuid4().hex) as ctx:
            try:
                removed = await vacuum_store(ctx)
            except ApiError as error:  # the block still ends cleanly: what ran before the error commits
                _logger.warning("cost store of %s was not vacuumed: %s", requester.tenant, error.message)
                return None
    except (AuthenticationFailed, TenantNotAllowed):
        _logger.warning("cost store of %s: its billing admin left; not vacuumed", requester.tenant)
        return None
    if removed:
        _logger.info("cost store of %s: %d unused import folders deleted", requester.tenant, len(removed))
    return removed
