"""JOCF out of the acting startup's ledger (JOCF in goes through the staged import: `stageCapTableImport`)."""

from __future__ import annotations

import asyncio

from captable import Problem
from captable.jocf.writer import jocf_files
from db.queries import captable
from policies.principal import TenantKind
from resolvers.captable.ledgers import ledger_from_rows
from resolvers.captable.ocf import archive
from resolvers.common.context import RequestContext


async def export_package(ctx: RequestContext) -> tuple[bytes, tuple[Problem, ...]]:
    """The ledger as a zip of JOCF files, and what JOCF cannot express (left out, named)."""
    acting = ctx.require_tenant(TenantKind.STARTUP)
    rows = await captable.ledger_rows(ctx.tx, acting.id)
    files, warnings = jocf_files(ledger_from_rows(rows))
    return await asyncio.to_thread(archive, files), warnings
