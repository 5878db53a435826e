"""The startup's cap table: append events to the ledger (validated, all or nothing), read the replayed cap
table and vesting, link stakeholders to investors. A granted VC reads (never writes) a company's cap table.

Every write takes the ledger's lock, loads the ledger (one statement), checks the new items by `object_type`
and then the whole ledger; on any problem it raises :class:`LedgerProblems` and writes nothing, else it
appends and recomputes the snapshot in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from captable import ConvertibleRule, Ledger, Problem, replay
from captable.replay import CapTableState
from captable.vesting import VestingStatus, vesting_status
from db.captable_records import LedgerRow, LinkRecord
from db.errors import ConstraintViolation, PolicyViolation, UniqueViolation
from db.pagination import Page
from db.queries import captable
from db.queries import tenancy as tenancy_queries
from policies.principal import WRITER_ROLES, ActingTenant, TenantKind
from resolvers.captable.ledgers import check_items, compute_snapshot, ledger_from_rows, links_by_vc
from resolvers.common.audit import audit_granted_reads
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.common.pages import PageRequest
from resolvers.global_ids import encode_global_id

SCOPE = "captable"


class LedgerProblems(InvalidInput):
    """The items (or package) would make the ledger invalid; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0].message() if problems else "rejected"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"ledger rejected: {first}{more}")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Written:
    ids: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()


def today() -> date:
    return datetime.now(UTC).date()


def require_writer(ctx: RequestContext) -> ActingTenant:
    return ctx.require_role(WRITER_ROLES, TenantKind.STARTUP)


async def _issuer_item(ctx: RequestContext, acting: ActingTenant) -> dict[str, Any]:
    tenant = await ctx.loaders.tenant.load(acting.id)
    return {"object_type": "ISSUER", "id": str(acting.id), "legal_name": tenant.name if tenant else acting.slug}


async def append_items(
    ctx: RequestContext, items: Sequence[Mapping[str, Any]], *, issuer: Mapping[str, Any] | None = None
) -> Written:
    """Append OCF items to the acting startup's ledger: all of them, or none (raises LedgerProblems)."""
    acting = require_writer(ctx)
    if not items:
        raise InvalidInput("send at least one item", field="events")
    async with ctx.tx.savepoint():
        await captable.lock_ledger(ctx.tx, acting.id)
        stored = await captable.ledger_rows(ctx.tx, acting.id)
        first_issuer = issuer if issuer is not None else await _issuer_item(ctx, acting)
        checked = check_items(stored, items, issuer=first_issuer)
        if checked.problems:
            raise LedgerProblems(checked.problems)
        try:
            seq = await captable.append(ctx.tx, acting.id, checked.rows)
        except UniqueViolation as error:
            raise Conflict(f"an id is already in the ledger: {error}") from error
        except PolicyViolation as error:
            raise Forbidden("you may not write this cap table") from error
        await refresh_snapshot(ctx, acting.id, checked.ledger, seq)
    return Written(tuple(r.id for r in checked.rows if r.object_type != "ISSUER"))


async def refresh_snapshot(ctx: RequestContext, tenant_id: UUID, ledger: Ledger, seq: int | None = None) -> None:
    """Recompute the derived snapshot and holdings (same transaction as the write that changed them)."""
    links = await captable.links_of(ctx.tx, [tenant_id])
    if seq is None:
        seq = await captable.snapshot_seq(ctx.tx, tenant_id) or 0
    snapshot = compute_snapshot(
        tenant_id, ledger, links_by_vc((k.stakeholder_id, k.vc_tenant_id) for k in links), today(), seq
    )
    try:
        await captable.save_snapshot(ctx.tx, snapshot)
    except PolicyViolation as error:
        raise Forbidden("you may not write this cap table") from error


async def _ledger_of(ctx: RequestContext, company_id: UUID | None) -> tuple[UUID, list[LedgerRow]]:
    """The acting startup's ledger, or a granting company's (audited). Absent and not granted look alike."""
    acting = ctx.require_tenant()
    target = acting.id if company_id is None else company_id
    if target == acting.id and acting.kind is not TenantKind.STARTUP:
        raise InvalidInput("a VC names the company whose cap table it reads", field="company")
    rows = await captable.ledger_rows(ctx.tx, target)
    if target != acting.id:
        if not rows:
            raise NotFound(f"no cap table of company {encode_global_id('Tenant', target)} is visible to you")
        await audit_granted_reads(ctx, [target], SCOPE, "captable")
    return target, rows


async def company_ledger(ctx: RequestContext, company_id: UUID | None) -> tuple[UUID, Ledger]:
    """The acting startup's ledger, or a granting company's (the read audited), as the engine's `Ledger`."""
    target, rows = await _ledger_of(ctx, company_id)
    return target, ledger_from_rows(rows)


@dataclass(frozen=True)
class CapTableView:
    company_id: UUID
    ledger: Ledger
    state: CapTableState


async def cap_table(
    ctx: RequestContext, company_id: UUID | None, as_of: date | None, rule: ConvertibleRule
) -> CapTableView:
    target, rows = await _ledger_of(ctx, company_id)
    ledger = ledger_from_rows(rows)
    return CapTableView(target, ledger, replay(ledger, as_of or today(), rule))


async def vesting(ctx: RequestContext, company_id: UUID | None, security_id: str, as_of: date | None) -> VestingStatus:
    _, rows = await _ledger_of(ctx, company_id)
    ledger = ledger_from_rows(rows)
    if security_id not in ledger.issuance_by_security_id:
        raise NotFound(f"no security {security_id!r} in this cap table")
    return vesting_status(ledger, security_id, as_of or today())


async def ledger_page(ctx: RequestContext, company_id: UUID | None, page: PageRequest) -> Page[LedgerRow]:
    acting = ctx.require_tenant()
    target = company_id or acting.id
    result = await captable.ledger_page(ctx.tx, target, page)
    if target != acting.id:
        await audit_granted_reads(ctx, [target] if result.items else [], SCOPE, "captable_objects")
    return result


async def link_stakeholder(ctx: RequestContext, stakeholder_id: str, vc_slug: str) -> LinkRecord:
    """Say that `stakeholder_id` is the holding of the VC `vc_slug` (which must be a grant counterpart)."""
    acting = require_writer(ctx)
    async with ctx.tx.savepoint():
        vc = await tenancy_queries.tenant_by_slug(ctx.tx, vc_slug)
        if vc is None or vc.kind is not TenantKind.VC:
            raise NotFound(f"no VC {vc_slug!r} is related to {acting.slug} (it must have requested access)")
        await captable.lock_ledger(ctx.tx, acting.id)
        rows = await captable.ledger_rows(ctx.tx, acting.id)
        if not any(r.id == stakeholder_id and r.object_type == "STAKEHOLDER" for r in rows):
            raise NotFound(f"no stakeholder {stakeholder_id!r} in the cap table of {acting.slug}")
        try:
            record = await captable.link(ctx.tx, acting.id, stakeholder_id, vc.id)
        except PolicyViolation as error:
            raise Forbidden("you may not link stakeholders of this company") from error
        except ConstraintViolation as error:
            raise InvalidInput(str(error), field="stakeholderId") from error
        await refresh_snapshot(ctx, acting.id, ledger_from_rows(rows), rows[-1].seq if rows else 0)
    return record


async def unlink_stakeholder(ctx: RequestContext, stakeholder_id: str) -> str:
    acting = require_writer(ctx)
    async with ctx.tx.savepoint():
        await captable.lock_ledger(ctx.tx, acting.id)
        if not await captable.unlink(ctx.tx, acting.id, stakeholder_id):
            raise NotFound(f"stakeholder {stakeholder_id!r} is not linked to an investor")
        rows = await captable.ledger_rows(ctx.tx, acting.id)
        await refresh_snapshot(ctx, acting.id, ledger_from_rows(rows), rows[-1].seq if rows else 0)
    return stakeholder_id
