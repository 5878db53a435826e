"""Invitations: an admin invites an address, the user with that address accepts or declines.

Accept, decline and revoke go through security-definer functions (the invitee is not a member yet, and the
app role has no UPDATE on invitations nor INSERT on memberships); each answers no row when the caller may not
act on the invitation, and raises a check violation when it is no longer pending.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy import ColumnElement, Integer, and_, func, insert, literal_column, or_, select, text

from db.pagination import Page, Window, counter, keyset, page_of
from db.records import InvitationRecord
from db.session import RequestTransaction
from db.tables import invitations, memberships, users

_COLUMNS = ", ".join(c.name for c in invitations.columns)

Answer = Callable[[RequestTransaction, UUID], Awaitable[InvitationRecord | None]]


def _lapsed() -> ColumnElement[bool]:
    return invitations.c.expires_at <= func.statement_timestamp()


def _status_is(status: str) -> ColumnElement[bool]:
    """The effective status: a pending invitation past its expiry counts as expired."""
    if status == "pending":
        return and_(invitations.c.status == "pending", ~_lapsed())
    if status == "expired":
        return or_(invitations.c.status == "expired", and_(invitations.c.status == "pending", _lapsed()))
    return invitations.c.status == status


async def create_invitation(tx: RequestTransaction, tenant_id: UUID, email: str, role: str) -> InvitationRecord:
    row = (
        await tx.execute(
            insert(invitations).values(tenant_id=tenant_id, email=email, role=role).returning(*invitations.columns)
        )
    ).one()
    return InvitationRecord(**row._mapping)


async def is_member_email(tx: RequestTransaction, tenant_id: UUID, email: str) -> bool:
    """Whether a member of the tenant has this address (the caller sees only co-members' users)."""
    statement = (
        select(literal_column("1", Integer))
        .select_from(memberships.join(users, users.c.id == memberships.c.user_id))
        .where(memberships.c.tenant_id == tenant_id, users.c.email == email)
    )
    return (await tx.execute(statement)).first() is not None


async def tenant_invitations_page(
    tx: RequestTransaction, tenant_id: UUID, status: str | None, window: Window
) -> Page[InvitationRecord]:
    statement = select(invitations).where(invitations.c.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(_status_is(status))
    bounded = keyset(statement, [invitations.c.created_at, invitations.c.id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([InvitationRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))


async def invitation_by_id(tx: RequestTransaction, invitation_id: UUID) -> InvitationRecord | None:
    """The invitation, if the policies show it: the acting tenant's to its admins, or one addressed to the caller."""
    row = (await tx.execute(select(invitations).where(invitations.c.id == invitation_id))).first()
    return InvitationRecord(**row._mapping) if row else None


async def my_pending_page(tx: RequestTransaction, window: Window) -> Page[InvitationRecord]:
    statement = select(invitations).where(invitations.c.email == func.app.current_user_email(), _status_is("pending"))
    bounded = keyset(statement, [invitations.c.created_at, invitations.c.id], window)
    rows = (await tx.execute(bounded)).all()
    return page_of([InvitationRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))


async def _answer(tx: RequestTransaction, function: str, invitation_id: UUID) -> InvitationRecord | None:
    statement = text(f"select {_COLUMNS} from app.{function}(:id)")
    row = (await tx.execute(statement, {"id": invitation_id})).first()
    return InvitationRecord(**row._mapping) if row else None


async def accept(tx: RequestTransaction, invitation_id: UUID) -> InvitationRecord | None:
    return await _answer(tx, "accept_invitation", invitation_id)


async def decline(tx: RequestTransaction, invitation_id: UUID) -> InvitationRecord | None:
    return await _answer(tx, "decline_invitation", invitation_id)


async def revoke(tx: RequestTransaction, invitation_id: UUID) -> InvitationRecord | None:
    return await _answer(tx, "revoke_invitation", invitation_id)
