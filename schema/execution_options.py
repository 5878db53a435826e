"""What an execution takes from the settings, built in one place so that HTTP and `roundpool graphql` run a
document alike: the same cost store and sources, the same limits, the same invoice font."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strawberry

from cost.locations import CostSources
from cost.store import CostStore
from db.session import Database
from policies.principal import Principal
from resolvers.limits import RequestLimits
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings


@dataclass(frozen=True)
class ExecutionOptions:
    max_page_size: int
    cost_store: CostStore
    cost_sources: CostSources
    limits: RequestLimits
    invoice_font: Path | None

    @classmethod
    def of(cls, settings: Settings, cost_store: CostStore) -> ExecutionOptions:
        return cls(
            max_page_size=settings.max_page_size,
            cost_store=cost_store,
            cost_sources=settings.cost_import_sources,
            limits=settings.request_limits,
            invoice_font=settings.invoice_font,
        )


async def execute_with(
    options: ExecutionOptions,
    schema: strawberry.Schema,
    database: Database,
    principal: Principal | None,
    request: GraphQLRequest,
    *,
    request_id: str,
) -> dict[str, Any]:
    return await execute(
        schema,
        database,
        principal,
        request,
        request_id=request_id,
        max_page_size=options.max_page_size,
        cost_store=options.cost_store,
        cost_sources=options.cost_sources,
        limits=options.limits,
        invoice_font=options.invoice_font,
    )
