"""Mutations of the cost domain. Each returns a union of its result and the expected problems."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from cost import LateData
from resolvers.common.context import RequestContext
from resolvers.costs import cloud_accounts
from resolvers.costs import imports as cost_imports
from schema.outcomes import outcome
from schema.types.costs import CloudAccount, CostImport
from schema.types.problems import ConflictProblem, InvalidInputProblem, NotAllowed, NotFoundProblem

Ctx = Info[RequestContext, None]

ImportCostReportResult = Annotated[
    CostImport | NotAllowed | InvalidInputProblem, strawberry.union("ImportCostReportResult")
]
AssignCloudAccountResult = Annotated[
    CloudAccount | NotAllowed | NotFoundProblem | InvalidInputProblem | ConflictProblem,
    strawberry.union("AssignCloudAccountResult"),
]


@strawberry.type
class CostsMutation:
    @strawberry.mutation(
        description="Queue the import of a billing file (legacy CUR, CUR 2.0, FOCUS; CSV, gzip, zip or Parquet) "
        "at a server-side absolute path or an s3:// URI. Billing admins of an operator. Follow it with "
        "`costImport(id)`. `lateData` says what happens to rows of a closed period: REJECT (default) fails the "
        "import; CORRECTIONS re-homes them into the next open period as corrections."
    )
    async def import_cost_report(
        self, info: Ctx, path: str, late_data: LateData = LateData.REJECT
    ) -> ImportCostReportResult:
        async def run() -> CostImport:
            record = await cost_imports.import_cost_report(info.context, path, late_data)
            return CostImport.from_record(record)

        return await outcome(run, (NotAllowed, InvalidInputProblem))

    @strawberry.mutation(
        description="Assign a cloud account to a tenant your operator bills, or move it there (the history "
        "keeps where it was). Billing admins. `name` renames it when given."
    )
    async def assign_cloud_account(
        self,
        info: Ctx,
        account_id: str,
        tenant_slug: str,
        name: str | None = None,
        payer_account_id: str | None = None,
    ) -> AssignCloudAccountResult:
        async def run() -> CloudAccount:
            record = await cloud_accounts.assign_cloud_account(
                info.context, account_id, tenant_slug, name, payer_account_id
            )
            return CloudAccount.from_record(record)

        return await outcome(run)
