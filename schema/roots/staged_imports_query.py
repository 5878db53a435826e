"""Queries of staged imports (drafts) and the JOCF export."""

from __future__ import annotations

import base64

import strawberry
from strawberry.types import Info

from resolvers.captable import jocf, staged_imports
from resolvers.common.context import RequestContext
from resolvers.global_ids import decode_global_id
from schema.types.captable import LedgerProblem
from schema.types.staged_imports import JocfPackage, StagedImport

Ctx = Info[RequestContext, None]


@strawberry.type
class StagedImportsQuery:
    @strawberry.field(
        description="A draft import of the acting startup (owners, admins and members): items, problems by root "
        "cause, the upgrade's change report and a preview of the resulting cap table."
    )
    async def staged_import(self, info: Ctx, id: strawberry.ID) -> StagedImport | None:
        return StagedImport.of(await staged_imports.view(info.context, decode_global_id("StagedImport", id, "id")))

    @strawberry.field(
        description="The acting startup's ledger as JOCF files (a zip, base64). What JOCF cannot express (warrants, "
        "vesting, stock plans, valuations, financings) is left out and named in `warnings`."
    )
    async def export_jocf_package(self, info: Ctx) -> JocfPackage | None:
        data, warnings = await jocf.export_package(info.context)
        slug = info.context.require_tenant().slug
        return JocfPackage(
            file_name=f"{slug}.jocf.zip",
            content_base64=base64.b64encode(data).decode(),
            size_bytes=len(data),
            warnings=[LedgerProblem.of(w) for w in warnings],
        )
