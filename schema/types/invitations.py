"""Invitations into a tenant: what its admins and the invitee see. Nothing here names the invitee's user."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from db.records import InvitationRecord, InvitationStatus
from policies.principal import Role
from resolvers.common.context import RequestContext
from schema.types.node import Node
from schema.types.tenancy import Tenant, User, load_tenant

strawberry.enum(InvitationStatus, name="InvitationStatus")


@strawberry.type(description="An invitation to join a tenant; the invitee accepts or declines it.")
class Invitation(Node):
    email: str
    role: Role
    status: InvitationStatus = strawberry.field(description="A pending invitation past expiresAt is EXPIRED.")
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    tenant_id: strawberry.Private[UUID]
    invited_by_id: strawberry.Private[UUID | None]

    @classmethod
    def from_record(cls, record: InvitationRecord) -> Invitation:
        lapsed = record.status == "pending" and record.expires_at <= datetime.now(UTC)
        return cls(
            db_id=record.id,
            email=record.email,
            role=record.role,
            status=InvitationStatus.EXPIRED if lapsed else record.status,
            created_at=record.created_at,
            expires_at=record.expires_at,
            responded_at=record.responded_at,
            tenant_id=record.tenant_id,
            invited_by_id=record.invited_by,
        )

    @strawberry.field(description="The inviting tenant (visible to the invitee while the invitation is pending).")
    async def tenant(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.tenant_id)

    @strawberry.field(description="Who invited; only for the tenant's members.")
    async def invited_by(self, info: Info[RequestContext, None]) -> User | None:
        if self.invited_by_id is None:
            return None
        record = await info.context.loaders.user.load(self.invited_by_id)
        return None if record is None else User.from_record(record)
