"""Mutations of staged imports: stage a package, fix or drop its items, commit it to the ledger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.captable import staged_imports
from resolvers.captable.captable import LedgerProblems
from resolvers.captable.staged_imports import StagedView
from resolvers.common.context import RequestContext
from resolvers.global_ids import decode_global_id
from schema.outcomes import outcome
from schema.types.captable import LedgerProblem, OcfImported, OcfRejected
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem, ProblemType
from schema.types.staged_imports import ImportFormat, StagedImport

Ctx = Info[RequestContext, None]

StagedImportResult = Annotated[
    StagedImport | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("StagedImportResult"),
]
CommitStagedImportResult = Annotated[
    OcfImported | OcfRejected | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("CommitStagedImportResult"),
]


async def _staged(make: Callable[[], Awaitable[StagedView]]) -> StagedImport | ProblemType:
    async def run() -> StagedImport:
        return StagedImport.of(await make())

    return await outcome(run)


@strawberry.type
class StagedImportsMutation:
    @strawberry.mutation(
        description="Keep an uploaded package (`.ocf.zip`, or a zip of JOCF files; base64) as a draft of the acting "
        "startup. OCF 1.0.0 pre-release forms are upgraded and reported in `changes`. Nothing is written to the "
        "ledger. Drafts expire after 7 days."
    )
    async def stage_cap_table_import(
        self, info: Ctx, package: str, format: ImportFormat = ImportFormat.OCF
    ) -> StagedImportResult:
        return await _staged(lambda: staged_imports.stage(info.context, package, format.value))

    @strawberry.mutation(description="Replace the item at `position` of an open draft with `item` (a JSON object).")
    async def fix_staged_item(self, info: Ctx, id: strawberry.ID, position: int, item: JSON) -> StagedImportResult:
        return await _staged(
            lambda: staged_imports.fix_item(info.context, decode_global_id("StagedImport", id, "id"), position, item)
        )

    @strawberry.mutation(description="Leave the item at `position` out of an open draft.")
    async def drop_staged_item(self, info: Ctx, id: strawberry.ID, position: int) -> StagedImportResult:
        return await _staged(
            lambda: staged_imports.drop_item(info.context, decode_global_id("StagedImport", id, "id"), position)
        )

    @strawberry.mutation(
        description="Append an open, unexpired draft to the ledger when it has no problem (all or nothing); "
        "otherwise every problem is returned and nothing is written."
    )
    async def commit_staged_import(self, info: Ctx, id: strawberry.ID) -> CommitStagedImportResult:
        async def run() -> OcfImported | OcfRejected:
            try:
                imported = await staged_imports.commit(info.context, decode_global_id("StagedImport", id, "id"))
            except LedgerProblems as error:
                return OcfRejected(message=error.message, problems=[LedgerProblem.of(p) for p in error.problems])
            return OcfImported(object_count=imported.object_count, warnings=[])

        return await outcome(run)
