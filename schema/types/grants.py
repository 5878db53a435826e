"""Portfolio grants between a startup and a VC."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from db.records import GrantRecord, GrantStatus
from resolvers.common.context import RequestContext
from resolvers.tenancy.grants import Scope
from schema.types.node import Node
from schema.types.tenancy import Tenant, load_tenant

strawberry.enum(Scope, name="GrantScope")


strawberry.enum(GrantStatus, name="GrantStatus")


@strawberry.type
class PortfolioGrant(Node):
    requested_scopes: list[Scope]
    scopes: list[Scope]
    status: GrantStatus
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    startup_id: strawberry.Private[UUID]
    vc_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: GrantRecord) -> PortfolioGrant:
        return cls(
            db_id=record.id,
            requested_scopes=[Scope(s) for s in record.requested_scopes],
            scopes=[Scope(s) for s in record.scopes],
            status=record.status,
            expires_at=record.expires_at,
            created_at=record.created_at,
            updated_at=record.updated_at,
            startup_id=record.tenant_id,
            vc_id=record.vc_tenant_id,
        )

    @strawberry.field
    async def startup(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.startup_id)

    @strawberry.field
    async def vc(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.vc_id)
