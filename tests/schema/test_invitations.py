"""Membership by consent, through the API as the real app role: an admin invites an address, only the user
with that address sees the invitation and accepts or declines it, and nothing tells the admin whether the
address belongs to a user. Every refusal is checked against owner snapshots of memberships, invitations and
the audit trail."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from schema.authentication import TenantNotAllowed
from tests.plugins.graphql import GraphQL, gid, row_id, token_for
from tests.plugins.world import Actor, World

PROBLEM = "__typename ... on Problem { message } ... on InvalidInput { field }"
INVITATION = "id email role status createdAt expiresAt respondedAt tenant { slug } invitedBy { email }"
INVITE = f"""
mutation($email: String!, $role: Role!) {{
  inviteMember(email: $email, role: $role) {{ {PROBLEM} ... on Invitation {{ {INVITATION} }} }}
}}"""
REVOKE = f"mutation($id: ID!) {{ revokeInvitation(id: $id) {{ {PROBLEM} ... on Invitation {{ {INVITATION} }} }} }}"
ACCEPT = f"""
mutation($id: ID!) {{
  acceptInvitation(id: $id) {{ {PROBLEM} ... on Membership {{ role tenant {{ slug }} user {{ email }} }} }}
}}"""
DECLINE = f"mutation($id: ID!) {{ declineInvitation(id: $id) {{ {PROBLEM} ... on Invitation {{ {INVITATION} }} }} }}"
MINE = f"query {{ myInvitations(first: 100) {{ edges {{ node {{ {INVITATION} }} }} }} }}"
OF_TENANT = f"""
query($status: InvitationStatus) {{
  invitations(status: $status, first: 100) {{ edges {{ node {{ {INVITATION} }} }} }}
}}"""
TENANTS = "query { tenants(first: 100) { edges { node { role tenant { slug } } } } }"
TENANT = "query($slug: String!) { tenant(slug: $slug) { slug } }"

Rows = dict[str, list[dict[str, Any]]]


def rows(owner: psycopg.Connection, world: World) -> Rows:
    """Everything membership by consent can touch, for this world's tenants, as the owner sees it."""
    tenants = list(world.tenants.values())
    with owner.cursor(row_factory=dict_row) as cur:
        return {
            "memberships": cur.execute(
                "select * from memberships where tenant_id = any(%s) order by tenant_id, user_id", (tenants,)
            ).fetchall(),
            "invitations": cur.execute(
                "select * from invitations where tenant_id = any(%s) order by created_at, id", (tenants,)
            ).fetchall(),
            "audit_events": cur.execute(
                "select * from audit_events where tenant_id = any(%s) order by tenant_id, id", (tenants,)
            ).fetchall(),
            "users": cur.execute(
                "select * from users where email like %s order by id", (f"%{world.suffix}%",)
            ).fetchall(),
        }


def audit_actions(owner: psycopg.Connection, invitation_id: str) -> list[tuple[str, Any, Any]]:
    return owner.execute(
        "select action, actor_user_id, details->>'status' from audit_events"
        " where subject_type = 'invitation' and subject_id = %s order by id",
        (str(row_id(invitation_id)),),
    ).fetchall()


def node(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result, result
    (value,) = result["data"].values()
    return value


def unknown_email(world: World) -> str:
    return f"nobody-{world.suffix}@example.com"


async def invite(gql: GraphQL, admin: Actor, email: str, role: str = "MEMBER") -> dict[str, Any]:
    invitation = node(await gql(admin, INVITE, {"email": email, "role": role}))
    assert invitation["__typename"] == "Invitation", invitation
    return invitation


async def test_the_answer_is_the_same_for_a_user_and_an_unknown_address(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin, known = world.actor("startup_admin"), world.actor("other_startup_owner")
    for_user = await invite(gql, admin, known.email.upper())  # type: ignore[union-attr]
    for_nobody = await invite(gql, admin, unknown_email(world))

    def shape(invitation: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in invitation.items() if k not in ("id", "email", "createdAt", "expiresAt")}

    assert (
        shape(for_user)
        == shape(for_nobody)
        == {
            "__typename": "Invitation",
            "role": "MEMBER",
            "status": "PENDING",
            "respondedAt": None,
            "tenant": {"slug": world.slugs["startup"]},
            "invitedBy": {"email": admin.email},
        }
    )
    assert for_user["email"] == known.email  # normalised to lower case
    text = json.dumps(for_user)
    assert str(known.user_id) not in text  # no id
    assert gid("User", known.user_id) not in text
    assert "other_startup_owner" not in text  # no display name
    # and the admin still cannot see the invited user
    members = await gql(
        admin, "query { me { actingTenant { members(first: 100) { edges { node { user { email } } } } } } }"
    )
    emails = {e["node"]["user"]["email"] for e in members["data"]["me"]["actingTenant"]["members"]["edges"]}
    assert known.email not in emails
    assert owner_conn.execute(
        "select count(*) from memberships where tenant_id = %s and user_id = %s", (admin.tenant_id, known.user_id)
    ).fetchone() == (0,)


async def test_the_answer_is_the_same_over_http(http_client: httpx.AsyncClient, world: World) -> None:
    admin = world.actor("startup_owner")
    headers = {"authorization": f"Bearer {token_for(admin)}"}
    answers = []
    for email in (world.actor("vc_active").email, unknown_email(world)):
        response = await http_client.post(
            "/graphql", json={"query": INVITE, "variables": {"email": email, "role": "VIEWER"}}, headers=headers
        )
        assert response.status_code == 200
        invitation = response.json()["data"]["inviteMember"]
        answers.append({k: v for k, v in invitation.items() if k not in ("id", "email", "createdAt", "expiresAt")})
    assert answers[0] == answers[1]
    assert answers[0]["status"] == "PENDING"


async def test_the_invitee_sees_and_accepts_and_becomes_a_member_with_the_invited_role(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin, invitee = world.actor("startup_admin"), world.actor("other_startup_owner")
    invitation = await invite(gql, admin, invitee.email, "ADMIN")  # type: ignore[arg-type]

    mine = node(await gql(invitee, MINE))["edges"]
    assert [e["node"]["id"] for e in mine] == [invitation["id"]]
    assert mine[0]["node"]["tenant"] == {"slug": world.slugs["startup"]}  # the invitee may see who invites them
    assert mine[0]["node"]["invitedBy"] is None  # but not the inviter's user

    accepted = node(await gql(invitee, ACCEPT, {"id": invitation["id"]}))
    assert accepted == {
        "__typename": "Membership",
        "role": "ADMIN",
        "tenant": {"slug": world.slugs["startup"]},
        "user": {"email": invitee.email},
    }
    assert owner_conn.execute(
        "select role from memberships where tenant_id = %s and user_id = %s", (admin.tenant_id, invitee.user_id)
    ).fetchone() == ("admin",)
    assert owner_conn.execute(
        "select status, accepted_by, responded_at is not null from invitations where id = %s",
        (row_id(invitation["id"]),),
    ).fetchone() == ("accepted", invitee.user_id, True)
    assert audit_actions(owner_conn, invitation["id"]) == [
        ("invitation.created", admin.user_id, "pending"),
        ("invitation.accepted", invitee.user_id, "accepted"),
    ]
    assert node(await gql(invitee, MINE))["edges"] == []
    listed = {(e["node"]["tenant"]["slug"], e["node"]["role"]) for e in node(await gql(invitee, TENANTS))["edges"]}
    assert listed == {(world.slugs["other_startup"], "OWNER"), (world.slugs["startup"], "ADMIN")}
    # accepting twice is a conflict and changes nothing
    before = rows(owner_conn, world)
    assert node(await gql(invitee, ACCEPT, {"id": invitation["id"]}))["__typename"] == "Conflict"
    assert rows(owner_conn, world) == before


async def test_declining_creates_no_membership_and_names_no_user_to_the_admins(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin, invitee = world.actor("startup_owner"), world.actor("vc_active")
    invitation = await invite(gql, admin, invitee.email)  # type: ignore[arg-type]
    memberships_before = rows(owner_conn, world)["memberships"]

    declined = node(await gql(invitee, DECLINE, {"id": invitation["id"]}))
    assert (declined["__typename"], declined["status"]) == ("Invitation", "DECLINED")
    assert declined["respondedAt"] is not None
    assert rows(owner_conn, world)["memberships"] == memberships_before
    assert audit_actions(owner_conn, invitation["id"]) == [
        ("invitation.created", admin.user_id, "pending"),
        ("invitation.declined", None, "declined"),
    ]
    before = rows(owner_conn, world)
    assert node(await gql(invitee, ACCEPT, {"id": invitation["id"]}))["__typename"] == "Conflict"
    assert rows(owner_conn, world) == before
    listed = node(await gql(admin, OF_TENANT, {"status": "DECLINED"}))["edges"]
    assert [e["node"]["id"] for e in listed] == [invitation["id"]]


async def test_a_revoked_invitation_cannot_be_accepted(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin, invitee = world.actor("startup_admin"), world.actor("other_startup_owner")
    invitation = await invite(gql, admin, invitee.email)  # type: ignore[arg-type]
    shown = await gql(invitee, TENANT, {"slug": world.slugs["startup"]})
    assert shown["data"] == {"tenant": {"slug": world.slugs["startup"]}}  # who invites is visible while pending
    revoked = node(await gql(admin, REVOKE, {"id": invitation["id"]}))
    assert (revoked["__typename"], revoked["status"]) == ("Invitation", "REVOKED")
    assert node(await gql(invitee, MINE))["edges"] == []
    hidden = await gql(invitee, TENANT, {"slug": world.slugs["startup"]})
    assert hidden["data"] == {"tenant": None}
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    before = rows(owner_conn, world)
    for document in (ACCEPT, DECLINE):
        refused = node(await gql(invitee, document, {"id": invitation["id"]}))
        assert refused["__typename"] == "Conflict", refused
        assert "revoked" in refused["message"]
    assert node(await gql(admin, REVOKE, {"id": invitation["id"]}))["__typename"] == "Conflict"
    assert rows(owner_conn, world) == before
    assert audit_actions(owner_conn, invitation["id"]) == [
        ("invitation.created", admin.user_id, "pending"),
        ("invitation.revoked", admin.user_id, "revoked"),
    ]


async def test_an_expired_invitation_cannot_be_accepted_and_a_new_one_replaces_it(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin, invitee = world.actor("startup_admin"), world.actor("other_startup_owner")
    invitation = await invite(gql, admin, invitee.email)  # type: ignore[arg-type]
    owner_conn.execute(
        "update invitations set expires_at = now() - interval '1 minute' where id = %s", (row_id(invitation["id"]),)
    )
    assert node(await gql(invitee, MINE))["edges"] == []

    before = rows(owner_conn, world)
    for document in (ACCEPT, DECLINE):
        refused = node(await gql(invitee, document, {"id": invitation["id"]}))
        assert refused["__typename"] == "Conflict", refused
        assert "expired" in refused["message"]
    assert rows(owner_conn, world) == before
    listed = node(await gql(admin, OF_TENANT, {"status": "EXPIRED"}))["edges"]
    assert [(e["node"]["id"], e["node"]["status"]) for e in listed] == [(invitation["id"], "EXPIRED")]
    assert node(await gql(admin, OF_TENANT, {"status": "PENDING"}))["edges"] == []

    again = await invite(gql, admin, invitee.email)  # type: ignore[arg-type]
    assert owner_conn.execute(
        "select status from invitations where id = %s", (row_id(invitation["id"]),)
    ).fetchone() == ("expired",)
    assert [a for a, _, _ in audit_actions(owner_conn, invitation["id"])][-1] == "invitation.expired"
    assert node(await gql(invitee, ACCEPT, {"id": again["id"]}))["__typename"] == "Membership"


async def test_a_third_user_can_neither_see_nor_answer_someone_elses_invitation(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin, invitee = world.actor("startup_admin"), world.actor("other_startup_owner")
    invitation = await invite(gql, admin, invitee.email)  # type: ignore[arg-type]
    before = rows(owner_conn, world)
    for name in ("vc_active", "startup_member", "startup_viewer", "billing_admin", "vc_requested"):
        third = world.actor(name)
        assert node(await gql(third, MINE))["edges"] == [], name
        for document in (ACCEPT, DECLINE, REVOKE):
            refused = node(await gql(third, document, {"id": invitation["id"]}))
            assert refused["__typename"] in ("NotFound", "NotAllowed"), (name, refused)
    # the other tenant's admin does not list it either
    assert node(await gql(world.actor("vc_active"), OF_TENANT, {"status": None}))["edges"] == []
    assert rows(owner_conn, world) == before


async def test_members_and_viewers_cannot_invite_and_admins_cannot_invite_owners(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    before = rows(owner_conn, world)
    email = unknown_email(world)
    for actor, role, expected in (
        ("startup_member", "MEMBER", "NotAllowed"),
        ("startup_viewer", "VIEWER", "NotAllowed"),
        ("billing_admin", "BILLING_ADMIN", "NotAllowed"),  # a billing admin is not an admin
        ("startup_admin", "OWNER", "NotAllowed"),
        ("startup_owner", "BILLING_ADMIN", "InvalidInput"),
        ("vc_active", "BILLING_ADMIN", "InvalidInput"),
    ):
        refused = node(await gql(world.actor(actor), INVITE, {"email": email, "role": role}))
        assert refused["__typename"] == expected, (actor, role, refused)
    for bad in ("not-an-address", "a@b", "x" * 320 + "@example.com", "two@@example.com"):
        refused = node(await gql(world.actor("startup_owner"), INVITE, {"email": bad, "role": "MEMBER"}))
        assert (refused["__typename"], refused["field"]) == ("InvalidInput", "email"), bad
    for query, variables in ((OF_TENANT, {"status": None}),):
        result = await gql(world.actor("startup_member"), query, variables)
        assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert rows(owner_conn, world) == before


async def test_an_owner_invites_an_owner(gql: GraphQL, world: World, owner_conn: psycopg.Connection) -> None:
    invitee = world.actor("vc_active")
    invitation = await invite(gql, world.actor("startup_owner"), invitee.email, "OWNER")  # type: ignore[arg-type]
    before = rows(owner_conn, world)
    # an admin may not revoke an invitation to ownership
    assert node(await gql(world.actor("startup_admin"), REVOKE, {"id": invitation["id"]}))["__typename"] == "NotFound"
    assert rows(owner_conn, world) == before
    assert node(await gql(invitee, ACCEPT, {"id": invitation["id"]}))["role"] == "OWNER"


async def test_already_a_member_and_already_invited_are_conflicts(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin = world.actor("startup_admin")
    await invite(gql, admin, unknown_email(world))
    before = rows(owner_conn, world)
    for email in (world.actor("startup_member").email, unknown_email(world).upper()):
        refused = node(await gql(admin, INVITE, {"email": email, "role": "VIEWER"}))
        assert refused["__typename"] == "Conflict", (email, refused)
    assert rows(owner_conn, world) == before


async def test_an_admin_cannot_invite_into_another_tenant(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    before = rows(owner_conn, world)
    forged = replace(world.actor("startup_admin"), tenant_slug=world.slugs["other_startup"])
    with pytest.raises(TenantNotAllowed):
        await gql(forged, INVITE, {"email": unknown_email(world), "role": "MEMBER"})
    # acting for its own tenant, an admin invites only there: the invitation names the acting tenant
    invitation = await invite(gql, world.actor("other_startup_owner"), unknown_email(world))
    assert invitation["tenant"] == {"slug": world.slugs["other_startup"]}
    after = rows(owner_conn, world)
    (new,) = [i for i in after["invitations"] if i not in before["invitations"]]
    assert new["tenant_id"] == world.tenants["other_startup"]
    assert after["memberships"] == before["memberships"]


async def test_invitations_page_with_a_cursor(gql: GraphQL, world: World) -> None:
    admin = world.actor("startup_owner")
    ids = [(await invite(gql, admin, f"page-{i}-{world.suffix}@example.com"))["id"] for i in range(3)]
    query = """
    query($after: String) {
      invitations(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
    }"""
    first = node(await gql(admin, query, {"after": None}))
    assert first["pageInfo"]["hasNextPage"] is True
    second = node(await gql(admin, query, {"after": first["pageInfo"]["endCursor"]}))
    assert [e["node"]["id"] for e in first["edges"] + second["edges"]] == ids
    bad = await gql(admin, query, {"after": "W10="})  # a valid cursor encoding of []
    assert [e["extensions"]["code"] for e in bad["errors"]] == ["BAD_USER_INPUT"]
