"""Tenants, users and memberships. Every statement runs under the request's RLS context."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Uuid, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from db.compiled import columns_of, compiled, records_of
from db.pagination import Page, Window, counter, keyset, page_of
from db.records import MembershipRecord, TenantRecord, UserRecord
from db.session import RequestTransaction
from db.tables import memberships, tenants, users

# A user's identity-provider keys (issuer, subject) are read only by the provisioning function.
_USER_COLUMNS = columns_of(users, UserRecord)
# Every request's loaders: compiled once, one bound array (psycopg caches the text, 2 ids or 200).
_IDS = bindparam("ids", type_=ARRAY(Uuid))
_USERS_BY_IDS = compiled(select(*_USER_COLUMNS).where(users.c.id == any_(_IDS)), UserRecord)
_TENANTS_BY_IDS = compiled(select(*columns_of(tenants, TenantRecord)).where(tenants.c.id == any_(_IDS)), TenantRecord)


async def membership_by_slug(tx: RequestTransaction, slug: str) -> tuple[TenantRecord, str] | None:
    """The context user's membership of the tenant `slug` (the row the policies let the user see)."""
    statement = (
        select(tenants, memberships.c.role)
        .join(memberships, memberships.c.tenant_id == tenants.c.id)
        .where(tenants.c.slug == slug, memberships.c.user_id == tx.context.user_id)
    )
    row = (await tx.execute(statement)).first()
    if row is None:
        return None
    return TenantRecord(**{c.name: row._mapping[c.name] for c in tenants.columns}), row.role


async def memberships_of_user(tx: RequestTransaction) -> list[tuple[TenantRecord, str]]:
    statement = (
        select(tenants, memberships.c.role)
        .join(memberships, memberships.c.tenant_id == tenants.c.id)
        .where(memberships.c.user_id == tx.context.user_id)
        .order_by(tenants.c.slug)
    )
    rows = (await tx.execute(statement)).all()
    return [(TenantRecord(**{c.name: r._mapping[c.name] for c in tenants.columns}), r.role) for r in rows]


async def user_by_id(tx: RequestTransaction, user_id: UUID) -> UserRecord | None:
    row = (await tx.execute(select(*_USER_COLUMNS).where(users.c.id == user_id))).first()
    return UserRecord(**row._mapping) if row else None


async def users_by_ids(tx: RequestTransaction, ids: Sequence[UUID]) -> list[UserRecord]:
    return records_of(UserRecord, await tx.fetch(_USERS_BY_IDS, {"ids": list(ids)}))


async def tenant_by_slug(tx: RequestTransaction, slug: str) -> TenantRecord | None:
    row = (await tx.execute(select(tenants).where(tenants.c.slug == slug))).first()
    return TenantRecord(**row._mapping) if row else None


async def tenants_by_ids(tx: RequestTransaction, ids: Sequence[UUID]) -> list[TenantRecord]:
    return records_of(TenantRecord, await tx.fetch(_TENANTS_BY_IDS, {"ids": list(ids)}))


async def my_tenants_page(tx: RequestTransaction, window: Window) -> Page[tuple[TenantRecord, str]]:
    statement = (
        select(tenants, memberships.c.role)
        .join(memberships, memberships.c.tenant_id == tenants.c.id)
        .where(memberships.c.user_id == tx.context.user_id)
    )
    rows = (await tx.execute(keyset(statement, [tenants.c.slug], window))).all()
    records = [(TenantRecord(**{c.name: r._mapping[c.name] for c in tenants.columns}), r.role) for r in rows]
    return page_of(records, window, count=counter(tx, statement))


async def members_page(tx: RequestTransaction, tenant_id: UUID, window: Window) -> Page[MembershipRecord]:
    statement = select(memberships).where(memberships.c.tenant_id == tenant_id)
    rows = (await tx.execute(keyset(statement, [memberships.c.user_id], window))).all()
    return page_of([MembershipRecord(**r._mapping) for r in rows], window, count=counter(tx, statement))


async def count_members(tx: RequestTransaction, tenant_id: UUID) -> int:
    statement = select(func.count()).select_from(memberships).where(memberships.c.tenant_id == tenant_id)
    return int((await tx.execute(statement)).scalar_one())


async def membership(tx: RequestTransaction, tenant_id: UUID, user_id: UUID) -> MembershipRecord | None:
    statement = select(memberships).where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
    row = (await tx.execute(statement)).first()
    return MembershipRecord(**row._mapping) if row else None


async def set_membership_role(
    tx: RequestTransaction, tenant_id: UUID, user_id: UUID, role: str
) -> MembershipRecord | None:
    row = (
        await tx.execute(
            update(memberships)
            .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
            .values(role=role)
            .returning(*memberships.columns)
        )
    ).first()
    return MembershipRecord(**row._mapping) if row else None


async def delete_membership(tx: RequestTransaction, tenant_id: UUID, user_id: UUID) -> bool:
    result = await tx.execute(
        delete(memberships)
        .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
        .returning(memberships.c.user_id)
    )
    return result.first() is not None


async def count_owners(tx: RequestTransaction, tenant_id: UUID) -> int:
    statement = (
        select(func.count())
        .select_from(memberships)
        .where(memberships.c.tenant_id == tenant_id, memberships.c.role == "owner")
    )
    return int((await tx.execute(statement)).scalar_one())
