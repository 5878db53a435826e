"""Membership by consent in SQL, as the app role: raw statements cannot enrol anyone, answer someone else's
invitation, or learn whether an address belongs to a user."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
import psycopg.errors
import pytest

from tests.plugins.world import Actor, World, acting_as


def invite_as(owner: psycopg.Connection, admin: Actor, email: str, role: str = "member") -> UUID:
    """Seed an invitation the way the API files it: under the admin's context."""
    with owner.transaction():
        owner.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(admin.user_id), str(admin.tenant_id)),
        )
        row = owner.execute(
            "insert into invitations (tenant_id, email, role) values (%s, %s, %s) returning id",
            (admin.tenant_id, email, role),
        ).fetchone()
    assert row is not None
    return row[0]


def state(owner: psycopg.Connection, world: World) -> tuple[Any, ...]:
    tenants = list(world.tenants.values())
    return tuple(
        owner.execute(sql, (tenants,)).fetchall()
        for sql in (
            "select * from memberships where tenant_id = any(%s) order by tenant_id, user_id",
            "select * from invitations where tenant_id = any(%s) order by id",
            "select * from audit_events where tenant_id = any(%s) order by tenant_id, id",
        )
    )


@pytest.fixture
def invitation(owner_conn: psycopg.Connection, world: World) -> UUID:
    return invite_as(owner_conn, world.actor("startup_admin"), world.actor("other_startup_owner").email or "")


def test_no_role_inserts_a_membership_directly(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    before = state(owner_conn, world)
    for name in ("startup_owner", "startup_admin", "other_startup_owner", "startup_member"):
        actor = world.actor(name)
        target = world.actor("vc_active")
        with acting_as(app_conn, actor) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "insert into memberships (tenant_id, user_id, role) values (%s, %s, 'member')",
                (actor.tenant_id, target.user_id),
            )
    assert state(owner_conn, world) == before


def test_nobody_creates_users_or_looks_them_up_by_email(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    """Either would tell an admin whether an address is registered (a unique violation, an id)."""
    admin = world.actor("startup_owner")
    users_before = owner_conn.execute("select count(*) from users").fetchone()
    with acting_as(app_conn, admin) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("insert into users (email) values (%s)", (world.actor("vc_active").email,))
    with acting_as(app_conn, admin) as conn, pytest.raises(psycopg.errors.UndefinedFunction):
        conn.execute("select app.user_id_by_email(%s)", (world.actor("vc_active").email,))
    assert owner_conn.execute("select count(*) from users").fetchone() == users_before


def test_an_invitation_is_answered_only_by_the_user_with_its_address(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World, invitation: UUID
) -> None:
    before = state(owner_conn, world)
    for name in ("startup_owner", "startup_admin", "vc_active", "billing_admin", "startup_viewer"):
        for function in ("accept_invitation", "decline_invitation"):
            with acting_as(app_conn, world.actor(name)) as conn:
                assert conn.execute(f"select * from app.{function}(%s)", (invitation,)).fetchall() == [], name
    # nor by direct updates, for anyone (the app role has no UPDATE on invitations)
    for name in ("other_startup_owner", "startup_admin"):
        with acting_as(app_conn, world.actor(name)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("update invitations set status = 'accepted' where id = %s", (invitation,))
    # no context at all
    with app_conn.transaction(force_rollback=True):
        assert app_conn.execute("select * from app.accept_invitation(%s)", (invitation,)).fetchall() == []
    assert state(owner_conn, world) == before


def test_the_invitee_accepts_in_sql_and_gets_exactly_that_membership(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World, invitation: UUID
) -> None:
    invitee = world.actor("other_startup_owner")
    with app_conn.transaction():
        app_conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(invitee.user_id), str(invitee.tenant_id)),
        )
        (row,) = app_conn.execute("select status, accepted_by from app.accept_invitation(%s)", (invitation,)).fetchall()
    assert row == ("accepted", invitee.user_id)
    assert owner_conn.execute(
        "select tenant_id, role from memberships where user_id = %s order by role", (invitee.user_id,)
    ).fetchall() == [(world.tenants["startup"], "member"), (world.tenants["other_startup"], "owner")]


def test_an_admin_of_one_tenant_cannot_invite_into_another_nor_learn_its_members(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    """The refusal is the same whether the address is a member of the foreign tenant or not."""
    admin = world.actor("other_startup_owner")
    before = state(owner_conn, world)
    messages = set()
    for email in (world.actor("startup_member").email, f"nobody-{world.suffix}@example.com"):
        for role in ("member", "billing_admin"):
            with acting_as(app_conn, admin) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as raised:
                conn.execute(
                    "insert into invitations (tenant_id, email, role) values (%s, %s, %s)",
                    (world.tenants["startup"], email, role),
                )
            messages.add(str(raised.value).splitlines()[0])
    assert len(messages) == 1, messages
    assert state(owner_conn, world) == before


def test_invitation_rows_are_fixed_by_the_database(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    """Whatever the inserting admin writes, the row is pending, filed by them, and only in granted columns."""
    admin = world.actor("startup_admin")
    with acting_as(app_conn, admin) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "insert into invitations (tenant_id, email, role, status, invited_by)"
            " values (%s, %s, 'viewer', 'accepted', %s)",
            (admin.tenant_id, f"x-{world.suffix}@example.com", world.actor("startup_owner").user_id),
        )
    with acting_as(app_conn, admin) as conn:
        row = conn.execute(
            "insert into invitations (tenant_id, email, role) values (%s, %s, 'viewer')"
            " returning email, status, invited_by, accepted_by, responded_at",
            (admin.tenant_id, f"  Mixed-{world.suffix}@Example.COM "),
        ).fetchone()
    assert row == (f"mixed-{world.suffix}@example.com", "pending", admin.user_id, None, None)
    with acting_as(app_conn, admin) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "insert into invitations (tenant_id, email, role) values (%s, %s, 'owner')",
            (admin.tenant_id, f"y-{world.suffix}@example.com"),
        )


def test_invitation_audit_events_cannot_be_forged_or_erased(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World, invitation: UUID
) -> None:
    events = owner_conn.execute(
        "select action, actor_user_id, actor_tenant_id from audit_events where subject_id = %s", (str(invitation),)
    ).fetchall()
    admin = world.actor("startup_admin")
    assert events == [("invitation.created", admin.user_id, admin.tenant_id)]
    with acting_as(app_conn, admin) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("delete from audit_events where subject_id = %s", (str(invitation),))
