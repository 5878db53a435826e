"""Onboarding: the user of a verified token (created on first use), and tenants created with their first owner.
Each goes through one security-definer function (policies/sql/0014_onboarding.sql): the app role cannot insert
tenants, users or memberships itself."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg.errors
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.errors import DatabaseError
from db.records import InvitationRecord, TenantRecord, UserRecord
from db.session import RequestTransaction, TokenUser
from db.tables import invitations, tenants
from policies.principal import Role


class IdentityRefused(DatabaseError):
    """No user can be created for the token: it has no trusted address, or the address is another account's."""


class NotAMember(DatabaseError):
    """The token's user is not a member of the tenant they asked to act for."""


_NOT_A_MEMBER = "RP403"  # app.open_request's refusal (policies/sql/0019_request_context.sql)


@dataclass(frozen=True)
class OpenedRequest:
    """What app.open_request bound: the user and, when one was resolved, the tenant they act for and the role."""

    user: UserRecord
    tenant: TenantRecord | None
    role: Role | None


async def open_request(tx: RequestTransaction, user: TokenUser) -> OpenedRequest:
    """The request's first round trip: BEGIN, the token's user provisioned, their membership resolved and the
    context bound (RequestTransaction.open_request)."""
    try:
        row = await tx.open_request(user)
    except DBAPIError as error:
        message = getattr(getattr(error.orig, "diag", None), "message_primary", None) or str(error.orig)
        if isinstance(error.orig, psycopg.errors.InvalidAuthorizationSpecification):
            raise IdentityRefused(message) from error
        if getattr(error.orig, "sqlstate", None) == _NOT_A_MEMBER:
            raise NotAMember(message) from error
        raise
    record = UserRecord(
        id=row["user_id"], email=row["email"], display_name=row["display_name"], created_at=row["user_created_at"]
    )
    if row["tenant_id"] is None:
        return OpenedRequest(record, None, None)
    tenant = TenantRecord(
        id=row["tenant_id"],
        slug=row["slug"],
        name=row["name"],
        kind=row["kind"],
        operator_id=row["operator_id"],
        created_at=row["tenant_created_at"],
    )
    return OpenedRequest(record, tenant, Role(row["role"]))


_TENANT_COLUMNS = ", ".join(c.name for c in tenants.columns)
_INVITATION_COLUMNS = ", ".join(c.name for c in invitations.columns)


async def provision_user(
    tx: RequestTransaction, issuer: str, subject: str, trusted_email: str | None, name: str | None
) -> UUID:
    statement = text("select app.provision_user(:issuer, :subject, :email, :name)")
    params = {"issuer": issuer, "subject": subject, "email": trusted_email, "name": name}
    try:
        return UUID(str((await tx.execute(statement, params)).scalar_one()))
    except DBAPIError as error:
        if isinstance(error.orig, psycopg.errors.InvalidAuthorizationSpecification):
            raise IdentityRefused(getattr(error.orig.diag, "message_primary", None) or str(error.orig)) from error
        raise


async def create_tenant(tx: RequestTransaction, slug: str, name: str, kind: str) -> TenantRecord:
    statement = text(f"select {_TENANT_COLUMNS} from app.create_tenant(:slug, :name, :kind)")
    row = (await tx.execute(statement, {"slug": slug, "name": name, "kind": kind})).one()
    return TenantRecord(**row._mapping)


async def create_customer(tx: RequestTransaction, slug: str, name: str, owner_email: str) -> InvitationRecord:
    """The invitation of the new customer's first owner (the customer is its tenant)."""
    statement = text(f"select {_INVITATION_COLUMNS} from app.create_customer(:slug, :name, :email)")
    row = (await tx.execute(statement, {"slug": slug, "name": name, "email": owner_email})).one()
    return InvitationRecord(**row._mapping)
