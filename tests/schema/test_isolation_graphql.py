"""The isolation matrix through GraphQL: what the API exposes, for every relevant actor, through the real
principal resolution, transaction, schema and policies.

Reads: exactly the allowed rows come back (and reading changes nothing but the audit trail of a granted read).
Mutations: an allowed one leaves exactly the expected change (read back by the owner); a denied one answers
with its typed problem, or an error with extensions.code, and every table of the world is identical before
and after (owner snapshots).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from schema.authentication import TenantNotAllowed
from tests.plugins.graphql import GraphQL, gid
from tests.plugins.world import ACTORS, ANONYMOUS, GRANTS, World

VCS = tuple(GRANTS)
STAFF = ("startup_owner", "startup_admin", "startup_member", "startup_viewer")
TENANT_KEYS = ("operator", "startup", "other_startup", *VCS)

# Expected visibility through the API (the plain world: grants only from `startup` to each VC) -----------

# companies: own profile + profiles of startups that granted 'company' (only startups have profiles here)
COMPANIES: dict[str, set[str]] = {
    **{a: {"startup"} for a in STAFF},
    "other_startup_owner": {"other_startup"},
    "vc_active": {"startup"},
}
# tenant(slug): own + grant counterparties (any status) + billed; anything else is NOT_FOUND
TENANTS: dict[str, set[str]] = {
    **{a: {"startup", *VCS} for a in STAFF},
    "other_startup_owner": {"other_startup"},
    **{vc: {vc, "startup"} for vc in VCS},
    "billing_admin": {"operator", "startup", "other_startup"},
}
# tenant(slug){profile}: the profile object is non-null only for these (tenant key per actor)
PROFILES: dict[str, set[str]] = COMPANIES
# portfolioGrants: the world's grants (named by VC) each side sees
GRANTS_SEEN: dict[str, set[str]] = {**{a: set(VCS) for a in STAFF}, **{vc: {vc} for vc in VCS}}
# auditEvents: owners and admins, their own tenant's trail
AUDIT_READERS: dict[str, str] = {
    "startup_owner": "startup",
    "startup_admin": "startup",
    "other_startup_owner": "other_startup",
    **{vc: vc for vc in VCS},
}

COMPANIES_Q = "query { companies(first: 100) { edges { node { legalName company { slug } } } } }"
TENANT_PROFILE_Q = "query($slug: String!) { tenant(slug: $slug) { slug profile { legalName } } }"
TENANT_MEMBERS_Q = """
query($slug: String!) {
  tenant(slug: $slug) { members(first: 100) { totalCount edges { node { role user { email } } } } }
}"""
GRANTS_Q = """
query { portfolioGrants(first: 100) { edges { node { id status startup { slug } vc { slug } } } } }"""
AUDIT_Q = "query { auditEvents(first: 100) { edges { node { id action } } } }"
TENANTS_Q = "query { tenants(first: 100) { edges { node { role tenant { slug } } } } }"
ME_Q = "query { me { user { email } } }"
MY_INVITATIONS_Q = "query { myInvitations(first: 100) { edges { node { id } } } }"
INVITATIONS_Q = "query { invitations(first: 100) { edges { node { id } } } }"

PROBLEM = "__typename ... on Problem { message }"
INVITE_MEMBER = f"""
mutation($email: String!, $role: Role!) {{
  inviteMember(email: $email, role: $role) {{ {PROBLEM} ... on Invitation {{ email role status tenant {{ slug }} }} }}
}}"""
ACCEPT_INVITATION = f"""
mutation($id: ID!) {{ acceptInvitation(id: $id) {{ {PROBLEM} ... on Membership {{ role }} }} }}"""
DECLINE_INVITATION = f"""
mutation($id: ID!) {{ declineInvitation(id: $id) {{ {PROBLEM} ... on Invitation {{ status }} }} }}"""
REVOKE_INVITATION = f"""
mutation($id: ID!) {{ revokeInvitation(id: $id) {{ {PROBLEM} ... on Invitation {{ status }} }} }}"""
CHANGE_ROLE = f"""
mutation($userId: ID!, $role: Role!) {{
  changeMemberRole(userId: $userId, role: $role) {{ {PROBLEM} ... on Membership {{ role }} }}
}}"""
REMOVE_MEMBER = f"""
mutation($userId: ID!) {{ removeMember(userId: $userId) {{ {PROBLEM} ... on RemovedMember {{ userId }} }} }}"""
REQUEST_ACCESS = f"""
mutation($slug: String!, $scopes: [GrantScope!]!) {{
  requestPortfolioAccess(startupSlug: $slug, scopes: $scopes) {{ {PROBLEM} ... on PortfolioGrant {{ id status }} }}
}}"""
APPROVE_ACCESS = f"""
mutation($id: ID!, $scopes: [GrantScope!]!, $expiresAt: DateTime) {{
  approvePortfolioAccess(id: $id, scopes: $scopes, expiresAt: $expiresAt) {{
    {PROBLEM} ... on PortfolioGrant {{ id status scopes }}
  }}
}}"""
REVOKE_ACCESS = f"""
mutation($id: ID!) {{ revokePortfolioAccess(id: $id) {{ {PROBLEM} ... on PortfolioGrant {{ id status }} }} }}"""
UPDATE_PROFILE = f"""
mutation($input: CompanyProfileInput!) {{
  updateCompanyProfile(input: $input) {{ {PROBLEM} ... on CompanyProfile {{ legalName country }} }}
}}"""


# Owner snapshots of every table, keyed by world names ------------------------------------------------

Snapshot = dict[str, dict[Any, dict[str, Any]]]


def snapshot(owner: psycopg.Connection, world: World) -> Snapshot:
    tenant_ids = list(world.tenants.values())
    tkey = {v: k for k, v in world.tenants.items()}
    ukey = {a.user_id: n for n, a in world.actors.items()}
    params = {"t": tenant_ids, "emails": f"%-{world.suffix}@example.com"}
    queries = {
        "tenants": ("select * from tenants where id = any(%(t)s)", lambda r: tkey[r["id"]]),
        "users": ("select * from users where email like %(emails)s", lambda r: ukey.get(r["id"], r["email"])),
        "memberships": (
            "select m.*, u.email from memberships m join users u on u.id = m.user_id where m.tenant_id = any(%(t)s)",
            lambda r: (tkey[r["tenant_id"]], ukey.get(r["user_id"], r["email"])),
        ),
        "portfolio_grants": (
            "select * from portfolio_grants where tenant_id = any(%(t)s) or vc_tenant_id = any(%(t)s)",
            lambda r: (tkey[r["tenant_id"]], tkey[r["vc_tenant_id"]], str(r["id"])),
        ),
        "company_profiles": (
            "select * from company_profiles where tenant_id = any(%(t)s)",
            lambda r: tkey[r["tenant_id"]],
        ),
        "audit_events": (
            "select * from audit_events where tenant_id = any(%(t)s)",
            lambda r: (tkey[r["tenant_id"]], r["id"]),
        ),
        "invitations": (
            "select * from invitations where tenant_id = any(%(t)s)",
            lambda r: (tkey[r["tenant_id"]], r["email"], str(r["id"])),
        ),
    }
    snap: Snapshot = {}
    with owner.cursor(row_factory=dict_row) as cur:
        for table, (sql, key) in queries.items():
            snap[table] = {key(r): r for r in cur.execute(sql, params).fetchall()}
    return snap


def diff(before: Snapshot, after: Snapshot) -> dict[str, set[Any]]:
    out = {}
    for table in before:
        keys = {k for k in before[table].keys() | after[table].keys() if before[table].get(k) != after[table].get(k)}
        if keys:
            out[table] = keys
    return out


def codes(result: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


def seed_audit_events(owner: psycopg.Connection, world: World) -> None:
    """The plain world has trail entries only where grants were filed; give every tenant one."""
    for tenant_id in world.tenants.values():
        owner.execute(
            "insert into audit_events (tenant_id, action, subject_type) values (%s, 'seed', 'test')", (tenant_id,)
        )


# Reads ------------------------------------------------------------------------------------------------


async def test_companies_lists_own_and_company_granted_profiles(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    slug_key = {v: k for k, v in world.slugs.items()}
    for name in ACTORS:
        before = snapshot(owner_conn, world)
        result = await gql(world.actor(name), COMPANIES_Q)
        after = snapshot(owner_conn, world)
        assert "errors" not in result, (name, result)
        seen = {
            slug_key.get(e["node"]["company"]["slug"], e["node"]["company"]["slug"])
            for e in result["data"]["companies"]["edges"]
        }
        assert seen == COMPANIES.get(name, set()), name
        # a read changes nothing, except that a read through a grant is logged in the startup's trail
        changes = diff(before, after)
        if name == "vc_active":
            assert set(changes) == {"audit_events"}, (name, changes)
            (event,) = [after["audit_events"][k] for k in changes["audit_events"]]
            assert (event["tenant_id"], event["action"], event["actor_tenant_id"]) == (
                world.tenants["startup"],
                "grant.read",
                world.tenants["vc_active"],
            )
        else:
            assert changes == {}, (name, changes)


async def test_tenant_by_slug_shows_visible_tenants_and_only_permitted_profiles(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    before = snapshot(owner_conn, world)
    problems = []
    for name in ACTORS:
        for key in TENANT_KEYS:
            result = await gql(world.actor(name), TENANT_PROFILE_Q, {"slug": world.slugs[key]})
            if key in TENANTS.get(name, set()):
                tenant = (result.get("data") or {}).get("tenant")
                if "errors" in result or tenant is None or tenant["slug"] != world.slugs[key]:
                    problems.append(f"{name} should see tenant {key}: {result}")
                    continue
                has_profile = tenant["profile"] is not None
                if has_profile != (key in PROFILES.get(name, set())):
                    problems.append(f"{name} on {key}: profile {'shown' if has_profile else 'hidden'}: {tenant}")
            elif result["data"] != {"tenant": None} or codes(result) != ["NOT_FOUND"]:
                problems.append(f"{name} should get NOT_FOUND for {key}: {result}")
    assert not problems, "\n".join(problems)
    # the only change: vc_active's granted read of the startup profile, logged in the startup's trail
    changes = diff(before, snapshot(owner_conn, world))
    assert set(changes) <= {"audit_events"}, changes
    assert {k[0] for k in changes.get("audit_events", set())} == {"startup"}


async def test_members_only_of_the_acting_tenant(gql: GraphQL, world: World, owner_conn: psycopg.Connection) -> None:
    before = snapshot(owner_conn, world)
    emails = {t: {a.email for a in world.actors.values() if a.tenant_id == world.tenants[t]} for t in TENANT_KEYS}
    for name in ACTORS:
        own = ACTORS[name][0]
        for key in TENANTS[name]:
            result = await gql(world.actor(name), TENANT_MEMBERS_Q, {"slug": world.slugs[key]})
            if key == own:
                assert "errors" not in result, (name, result)
                members = result["data"]["tenant"]["members"]
                assert {e["node"]["user"]["email"] for e in members["edges"]} == emails[own], name
                assert members["totalCount"] == len(emails[own]), name
            else:
                assert result["data"] == {"tenant": None}, (name, key, result)
                assert codes(result) == ["FORBIDDEN"], (name, key, result)
    assert diff(before, snapshot(owner_conn, world)) == {}


async def test_portfolio_grants_seen_by_both_sides_only(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    before = snapshot(owner_conn, world)
    by_id = {gid("PortfolioGrant", g): vc for vc, g in world.grants.items()}
    for name in ACTORS:
        result = await gql(world.actor(name), GRANTS_Q)
        assert "errors" not in result, (name, result)
        nodes = [e["node"] for e in result["data"]["portfolioGrants"]["edges"]]
        assert {by_id.get(n["id"], n["id"]) for n in nodes} == GRANTS_SEEN.get(name, set()), name
        for node in nodes:  # each side can name the other
            vc = by_id[node["id"]]
            assert (node["startup"]["slug"], node["vc"]["slug"]) == (world.slugs["startup"], world.slugs[vc]), name
    assert diff(before, snapshot(owner_conn, world)) == {}


async def test_audit_events_only_for_owners_and_admins_of_their_own_tenant(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    seed_audit_events(owner_conn, world)
    before = snapshot(owner_conn, world)
    for name in ACTORS:
        result = await gql(world.actor(name), AUDIT_Q)
        if name in AUDIT_READERS:
            assert "errors" not in result, (name, result)
            seen = {int(e["node"]["id"]) for e in result["data"]["auditEvents"]["edges"]}
            expected = {k[1] for k in before["audit_events"] if k[0] == AUDIT_READERS[name]}
            assert expected, name
            assert seen == expected, name
        else:
            assert result["data"] == {"auditEvents": None}, (name, result)
            assert codes(result) == ["FORBIDDEN"], (name, result)
    assert diff(before, snapshot(owner_conn, world)) == {}


async def test_tenants_lists_only_ones_own_memberships(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    # the startup's viewer is also a member of vc_active: both, and nothing else, are listed
    viewer = world.actor("startup_viewer")
    owner_conn.execute(
        "insert into memberships (tenant_id, user_id, role) values (%s, %s, 'member')",
        (world.tenants["vc_active"], viewer.user_id),
    )
    before = snapshot(owner_conn, world)
    for name in ACTORS:
        result = await gql(world.actor(name), TENANTS_Q)
        assert "errors" not in result, (name, result)
        seen = {(e["node"]["tenant"]["slug"], e["node"]["role"]) for e in result["data"]["tenants"]["edges"]}
        tenant, role = ACTORS[name]
        expected = {(world.slugs[tenant], role.upper())}
        if name == "startup_viewer":
            expected.add((world.slugs["vc_active"], "MEMBER"))
        assert seen == expected, name
    assert diff(before, snapshot(owner_conn, world)) == {}


QUERIES = {
    "me": (ME_Q, None),
    "companies": (COMPANIES_Q, None),
    "tenant": (TENANT_PROFILE_Q, "startup"),
    "members": (TENANT_MEMBERS_Q, "startup"),
    "portfolioGrants": (GRANTS_Q, None),
    "auditEvents": (AUDIT_Q, None),
    "tenants": (TENANTS_Q, None),
    "myInvitations": (MY_INVITATIONS_Q, None),
    "invitations": (INVITATIONS_Q, None),
}


async def test_anonymous_is_unauthenticated_and_reads_nothing(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    before = snapshot(owner_conn, world)
    for field, (query, slug_key) in QUERIES.items():
        result = await gql(ANONYMOUS, query, {"slug": world.slugs[slug_key]} if slug_key else None)
        assert list(result["data"].values()) == [None], (field, result)
        assert codes(result) == ["UNAUTHENTICATED"], (field, result)
    for mutation, variables in mutations_for(world, "startup_member"):
        result = await gql(ANONYMOUS, mutation, variables)
        field = next(iter(result["data"] or {"?": None}))
        node = (result["data"] or {}).get(field)
        assert (node is not None and node["__typename"] == "NotAllowed") or codes(result) == ["UNAUTHENTICATED"], result
    assert diff(before, snapshot(owner_conn, world)) == {}


def mutations_for(world: World, target: str) -> list[tuple[str, dict[str, Any]]]:
    """One call of every mutation, aimed at the startup, for the principals that must not make it."""
    user = gid("User", world.actor(target).user_id)
    grant = gid("PortfolioGrant", world.grants["vc_requested"])
    return [
        (INVITE_MEMBER, {"email": f"intruder-{world.suffix}@example.com", "role": "ADMIN"}),
        (ACCEPT_INVITATION, {"id": gid("Invitation", uuid.uuid4())}),
        (DECLINE_INVITATION, {"id": gid("Invitation", uuid.uuid4())}),
        (REVOKE_INVITATION, {"id": gid("Invitation", uuid.uuid4())}),
        (CHANGE_ROLE, {"userId": user, "role": "OWNER"}),
        (REMOVE_MEMBER, {"userId": user}),
        (REQUEST_ACCESS, {"slug": world.slugs["startup"], "scopes": ["COMPANY"]}),
        (APPROVE_ACCESS, {"id": grant, "scopes": ["COMPANY"], "expiresAt": None}),
        (REVOKE_ACCESS, {"id": gid("PortfolioGrant", world.grants["vc_active"])}),
        (UPDATE_PROFILE, {"input": {"legalName": "Hijacked K.K."}}),
    ]


@pytest.mark.parametrize("name", ["startup_owner", "vc_active", "billing_admin"])
async def test_a_foreign_tenant_slug_is_refused_before_anything_runs(
    name: str, gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    """The forged context through the API: acting for a tenant one is not a member of."""
    before = snapshot(owner_conn, world)
    forged = replace(world.actor(name), tenant_slug=world.slugs["other_startup"])
    for query, slug_key in QUERIES.values():
        with pytest.raises(TenantNotAllowed):
            await gql(forged, query, {"slug": world.slugs[slug_key]} if slug_key else None)
    for mutation, variables in mutations_for(world, "startup_member"):
        with pytest.raises(TenantNotAllowed):
            await gql(forged, mutation, variables)
    assert diff(before, snapshot(owner_conn, world)) == {}


# Mutations --------------------------------------------------------------------------------------------

Check = Callable[[World, Snapshot, Snapshot], None]


@dataclass(frozen=True)
class Case:
    id: str
    actor: str
    document: str
    variables: Callable[[World], dict[str, Any]]
    outcome: str  # the result's __typename: a success type, or a problem (then nothing may change)
    check: Check | None = None  # for a success: the exact change, read by the owner


def only(changes: dict[str, set[Any]], *, audited: bool = False, **tables: set[Any]) -> None:
    """Exactly these rows changed; the audit trail too if (and only if) the change is an audited one."""
    assert {t: k for t, k in changes.items() if t != "audit_events"} == tables, changes
    assert ("audit_events" in changes) == audited, changes


def invitation_filed(tenant: str, email_of: Callable[[World], str], role: str) -> Check:
    """One pending invitation, audited; no membership and no user, whether or not the address has one."""

    def check(world: World, before: Snapshot, after: Snapshot) -> None:
        changes = diff(before, after)
        (key,) = changes.get("invitations", {None})
        only(changes, audited=True, invitations={key})
        assert key is not None
        assert key[:2] == (tenant, email_of(world))
        row = after["invitations"][key]
        assert (row["role"], row["status"]) == (role, "pending")
        assert {(k[0], after["audit_events"][k]["action"]) for k in changes["audit_events"]} == {
            (tenant, "invitation.created")
        }

    return check


def role_changed(tenant: str, member: str, role: str) -> Check:
    def check(world: World, before: Snapshot, after: Snapshot) -> None:
        only(diff(before, after), memberships={(tenant, member)})
        assert after["memberships"][(tenant, member)]["role"] == role

    return check


def member_removed(tenant: str, member: str) -> Check:
    def check(world: World, before: Snapshot, after: Snapshot) -> None:
        only(diff(before, after), memberships={(tenant, member)})
        assert (tenant, member) not in after["memberships"]

    return check


def grant_filed(startup: str, vc: str, scopes: list[str]) -> Check:
    def check(world: World, before: Snapshot, after: Snapshot) -> None:
        changes = diff(before, after)
        (key,) = changes["portfolio_grants"]
        only(changes, audited=True, portfolio_grants={key})
        row = after["portfolio_grants"][key]
        assert key[:2] == (startup, vc)
        assert key not in before["portfolio_grants"]
        assert (row["status"], row["requested_scopes"], row["scopes"]) == ("requested", scopes, [])
        assert {k[0] for k in changes["audit_events"]} == {startup, vc}  # logged on both sides

    return check


def grant_decided(vc: str, status: str, scopes: list[str] | None = None, *, expires: bool = False) -> Check:
    def check(world: World, before: Snapshot, after: Snapshot) -> None:
        changes = diff(before, after)
        key = ("startup", vc, str(world.grants[vc]))
        only(changes, audited=True, portfolio_grants={key})
        row = after["portfolio_grants"][key]
        assert row["status"] == status
        if scopes is not None:
            assert row["scopes"] == scopes
        assert (row["expires_at"] is not None) == expires
        assert {k[0] for k in changes["audit_events"]} == {"startup", vc}

    return check


def profile_edited(tenant: str, **values: Any) -> Check:
    def check(world: World, before: Snapshot, after: Snapshot) -> None:
        only(diff(before, after), company_profiles={tenant})
        row = after["company_profiles"][tenant]
        assert {k: row[k] for k in values} == values

    return check


def uid(name: str) -> Callable[[World], str]:
    return lambda w: gid("User", w.actor(name).user_id)


def grant_ref(vc: str) -> Callable[[World], str]:
    return lambda w: gid("PortfolioGrant", w.grants[vc])


def new_email(w: World) -> str:
    return f"new-{w.suffix}@example.com"


def email_of(name: str) -> Callable[[World], str]:
    return lambda w: w.actor(name).email or ""


def random_id(w: World) -> dict[str, Any]:
    return {"id": gid("Invitation", uuid.uuid4())}


def add(email: Callable[[World], str], role: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"email": email(w), "role": role}


def change(user: str, role: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"userId": uid(user)(w), "role": role}


def remove(user: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"userId": uid(user)(w)}


def request(slug_key: str, scopes: list[str]) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"slug": w.slugs.get(slug_key, f"{slug_key}-{w.suffix}"), "scopes": scopes}


def approve(vc: str, scopes: list[str], expires_in: timedelta | None = None) -> Callable[[World], dict[str, Any]]:
    def variables(w: World) -> dict[str, Any]:
        expires = None if expires_in is None else (datetime.now(UTC) + expires_in).isoformat()
        grant = gid("PortfolioGrant", uuid.uuid4() if vc == "unknown" else w.grants[vc])
        return {"id": grant, "scopes": scopes, "expiresAt": expires}

    return variables


def revoke(vc: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"id": gid("PortfolioGrant", w.grants[vc])}


def edit(**values: Any) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"input": values}


CASES: list[Case] = [
    # inviteMember: owners and admins invite into the acting tenant only; same answer for any address
    Case(
        "invite/owner",
        "startup_owner",
        INVITE_MEMBER,
        add(new_email, "MEMBER"),
        "Invitation",
        invitation_filed("startup", new_email, "member"),
    ),
    Case(
        "invite/admin",
        "startup_admin",
        INVITE_MEMBER,
        add(new_email, "VIEWER"),
        "Invitation",
        invitation_filed("startup", new_email, "viewer"),
    ),
    Case(
        "invite/vc-owner",
        "vc_active",
        INVITE_MEMBER,
        add(new_email, "ADMIN"),
        "Invitation",
        invitation_filed("vc_active", new_email, "admin"),
    ),
    Case(
        "invite/admin-existing-user",
        "startup_admin",
        INVITE_MEMBER,
        add(email_of("other_startup_owner"), "MEMBER"),
        "Invitation",
        invitation_filed("startup", email_of("other_startup_owner"), "member"),
    ),
    Case("invite/member", "startup_member", INVITE_MEMBER, add(new_email, "MEMBER"), "NotAllowed"),
    Case("invite/viewer", "startup_viewer", INVITE_MEMBER, add(new_email, "VIEWER"), "NotAllowed"),
    Case("invite/billing-admin", "billing_admin", INVITE_MEMBER, add(new_email, "BILLING_ADMIN"), "NotAllowed"),
    Case("invite/admin-makes-owner", "startup_admin", INVITE_MEMBER, add(new_email, "OWNER"), "NotAllowed"),
    Case(
        "invite/admin-existing-member",
        "startup_admin",
        INVITE_MEMBER,
        add(email_of("startup_member"), "ADMIN"),
        "Conflict",
    ),
    Case(
        "invite/billing-role-in-startup",
        "startup_owner",
        INVITE_MEMBER,
        add(new_email, "BILLING_ADMIN"),
        "InvalidInput",
    ),
    Case("invite/bad-email", "startup_owner", INVITE_MEMBER, add(lambda w: "nobody", "MEMBER"), "InvalidInput"),
    # answering an invitation that does not exist (or is not one's own: indistinguishable)
    Case("accept/unknown", "other_startup_owner", ACCEPT_INVITATION, random_id, "NotFound"),
    Case("decline/unknown", "other_startup_owner", DECLINE_INVITATION, random_id, "NotFound"),
    Case("revoke-invitation/unknown", "startup_admin", REVOKE_INVITATION, random_id, "NotFound"),
    Case("revoke-invitation/member", "startup_member", REVOKE_INVITATION, random_id, "NotAllowed"),
    # changeMemberRole
    Case(
        "role/admin-demotes-member",
        "startup_admin",
        CHANGE_ROLE,
        change("startup_member", "VIEWER"),
        "Membership",
        role_changed("startup", "startup_member", "viewer"),
    ),
    Case(
        "role/owner-demotes-admin",
        "startup_owner",
        CHANGE_ROLE,
        change("startup_admin", "MEMBER"),
        "Membership",
        role_changed("startup", "startup_admin", "member"),
    ),
    Case("role/admin-touches-owner", "startup_admin", CHANGE_ROLE, change("startup_owner", "MEMBER"), "NotAllowed"),
    Case("role/admin-makes-owner", "startup_admin", CHANGE_ROLE, change("startup_member", "OWNER"), "NotAllowed"),
    Case("role/admin-makes-self-owner", "startup_admin", CHANGE_ROLE, change("startup_admin", "OWNER"), "NotAllowed"),
    Case("role/member", "startup_member", CHANGE_ROLE, change("startup_viewer", "MEMBER"), "NotAllowed"),
    Case("role/viewer-self", "startup_viewer", CHANGE_ROLE, change("startup_viewer", "ADMIN"), "NotAllowed"),
    Case("role/billing-admin", "billing_admin", CHANGE_ROLE, change("startup_member", "VIEWER"), "NotAllowed"),
    Case("role/other-startup", "other_startup_owner", CHANGE_ROLE, change("startup_member", "ADMIN"), "NotFound"),
    Case("role/grantee", "vc_active", CHANGE_ROLE, change("startup_member", "VIEWER"), "NotFound"),
    Case("role/last-owner", "startup_owner", CHANGE_ROLE, change("startup_owner", "ADMIN"), "Conflict"),
    Case(
        "role/bad-id",
        "startup_admin",
        CHANGE_ROLE,
        lambda w: {"userId": "not-a-uuid", "role": "VIEWER"},
        "InvalidInput",
    ),
    # removeMember
    Case(
        "remove/admin-removes-viewer",
        "startup_admin",
        REMOVE_MEMBER,
        remove("startup_viewer"),
        "RemovedMember",
        member_removed("startup", "startup_viewer"),
    ),
    Case(
        "remove/owner-removes-admin",
        "startup_owner",
        REMOVE_MEMBER,
        remove("startup_admin"),
        "RemovedMember",
        member_removed("startup", "startup_admin"),
    ),
    Case("remove/admin-removes-owner", "startup_admin", REMOVE_MEMBER, remove("startup_owner"), "NotAllowed"),
    Case("remove/member", "startup_member", REMOVE_MEMBER, remove("startup_viewer"), "NotAllowed"),
    Case("remove/billing-admin", "billing_admin", REMOVE_MEMBER, remove("startup_viewer"), "NotAllowed"),
    Case("remove/other-startup", "other_startup_owner", REMOVE_MEMBER, remove("startup_viewer"), "NotFound"),
    Case("remove/grantee", "vc_active", REMOVE_MEMBER, remove("startup_viewer"), "NotFound"),
    Case("remove/last-owner", "startup_owner", REMOVE_MEMBER, remove("startup_owner"), "Conflict"),
    # requestPortfolioAccess: a VC's admin, for startups, one open request or grant per pair
    Case(
        "request/vc",
        "vc_active",
        REQUEST_ACCESS,
        request("other_startup", ["COMPANY", "CAPTABLE"]),
        "PortfolioGrant",
        grant_filed("other_startup", "vc_active", ["captable", "company"]),
    ),
    Case(
        "request/after-revocation",
        "vc_revoked",
        REQUEST_ACCESS,
        request("startup", ["FINANCIALS"]),
        "PortfolioGrant",
        grant_filed("startup", "vc_revoked", ["financials"]),
    ),
    Case("request/open-grant", "vc_active", REQUEST_ACCESS, request("startup", ["COMPANY"]), "Conflict"),
    Case("request/open-request", "vc_requested", REQUEST_ACCESS, request("startup", ["COMPANY"]), "Conflict"),
    Case("request/expired-grant", "vc_expired", REQUEST_ACCESS, request("startup", ["COMPANY"]), "Conflict"),
    Case("request/a-vc", "vc_active", REQUEST_ACCESS, request("vc_requested", ["COMPANY"]), "NotFound"),
    Case("request/an-operator", "vc_active", REQUEST_ACCESS, request("operator", ["COMPANY"]), "NotFound"),
    Case("request/unknown", "vc_active", REQUEST_ACCESS, request("no-such-startup", ["COMPANY"]), "NotFound"),
    Case("request/startup", "startup_owner", REQUEST_ACCESS, request("other_startup", ["COMPANY"]), "NotAllowed"),
    Case("request/billing-admin", "billing_admin", REQUEST_ACCESS, request("startup", ["INVOICES"]), "NotAllowed"),
    Case("request/no-scope", "vc_revoked", REQUEST_ACCESS, request("startup", []), "InvalidInput"),
    # approvePortfolioAccess: the granting startup's owners and admins, within the requested scopes
    Case(
        "approve/admin",
        "startup_admin",
        APPROVE_ACCESS,
        approve("vc_requested", ["COMPANY"]),
        "PortfolioGrant",
        grant_decided("vc_requested", "active", ["company"]),
    ),
    Case(
        "approve/owner-with-expiry",
        "startup_owner",
        APPROVE_ACCESS,
        approve("vc_requested", ["COMPANY"], timedelta(days=30)),
        "PortfolioGrant",
        grant_decided("vc_requested", "active", ["company"], expires=True),
    ),
    Case("approve/member", "startup_member", APPROVE_ACCESS, approve("vc_requested", ["COMPANY"]), "NotAllowed"),
    Case("approve/viewer", "startup_viewer", APPROVE_ACCESS, approve("vc_requested", ["COMPANY"]), "NotAllowed"),
    Case("approve/vc-self", "vc_requested", APPROVE_ACCESS, approve("vc_requested", ["COMPANY"]), "NotAllowed"),
    Case(
        "approve/vc-widens",
        "vc_lacking_scope",
        APPROVE_ACCESS,
        approve("vc_lacking_scope", ["FINANCIALS"]),
        "NotAllowed",
    ),
    Case(
        "approve/other-startup", "other_startup_owner", APPROVE_ACCESS, approve("vc_requested", ["COMPANY"]), "NotFound"
    ),
    Case("approve/billing-admin", "billing_admin", APPROVE_ACCESS, approve("vc_requested", ["COMPANY"]), "NotAllowed"),
    Case("approve/revoked", "startup_admin", APPROVE_ACCESS, approve("vc_revoked", ["COMPANY"]), "Conflict"),
    Case(
        "approve/unrequested-scope",
        "startup_admin",
        APPROVE_ACCESS,
        approve("vc_lacking_scope", ["COMPANY"]),
        "InvalidInput",
    ),
    Case(
        "approve/past-expiry",
        "startup_admin",
        APPROVE_ACCESS,
        approve("vc_requested", ["COMPANY"], timedelta(hours=-1)),
        "InvalidInput",
    ),
    Case("approve/unknown", "startup_admin", APPROVE_ACCESS, approve("unknown", ["COMPANY"]), "NotFound"),
    # revokePortfolioAccess
    Case(
        "revoke/admin",
        "startup_admin",
        REVOKE_ACCESS,
        revoke("vc_active"),
        "PortfolioGrant",
        grant_decided("vc_active", "revoked", None),
    ),
    Case(
        "revoke/owner-a-request",
        "startup_owner",
        REVOKE_ACCESS,
        revoke("vc_requested"),
        "PortfolioGrant",
        grant_decided("vc_requested", "revoked", []),
    ),
    Case("revoke/member", "startup_member", REVOKE_ACCESS, revoke("vc_active"), "NotAllowed"),
    Case("revoke/viewer", "startup_viewer", REVOKE_ACCESS, revoke("vc_active"), "NotAllowed"),
    Case("revoke/grantee", "vc_active", REVOKE_ACCESS, revoke("vc_active"), "NotAllowed"),
    Case("revoke/other-startup", "other_startup_owner", REVOKE_ACCESS, revoke("vc_active"), "NotFound"),
    Case("revoke/billing-admin", "billing_admin", REVOKE_ACCESS, revoke("vc_active"), "NotAllowed"),
    Case("revoke/revoked", "startup_admin", REVOKE_ACCESS, revoke("vc_revoked"), "Conflict"),
    # updateCompanyProfile: the acting startup's owners and admins, never a grantee
    Case(
        "profile/admin",
        "startup_admin",
        UPDATE_PROFILE,
        edit(legalName="Renamed K.K.", country="DE"),
        "CompanyProfile",
        profile_edited("startup", legal_name="Renamed K.K.", country="DE"),
    ),
    Case(
        "profile/owner",
        "startup_owner",
        UPDATE_PROFILE,
        edit(website="https://example.com"),
        "CompanyProfile",
        profile_edited("startup", website="https://example.com"),
    ),
    Case(
        "profile/other-startup",
        "other_startup_owner",
        UPDATE_PROFILE,
        edit(legalName="Mine K.K."),
        "CompanyProfile",
        profile_edited("other_startup", legal_name="Mine K.K."),
    ),
    Case("profile/member", "startup_member", UPDATE_PROFILE, edit(legalName="Hijacked K.K."), "NotAllowed"),
    Case("profile/viewer", "startup_viewer", UPDATE_PROFILE, edit(legalName="Hijacked K.K."), "NotAllowed"),
    Case("profile/grantee", "vc_active", UPDATE_PROFILE, edit(legalName="Hijacked K.K."), "NotAllowed"),
    Case("profile/billing-admin", "billing_admin", UPDATE_PROFILE, edit(legalName="Hijacked K.K."), "NotAllowed"),
    Case("profile/bad-country", "startup_admin", UPDATE_PROFILE, edit(country="jp"), "InvalidInput"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_mutation(case: Case, gql: GraphQL, world: World, owner_conn: psycopg.Connection) -> None:
    before = snapshot(owner_conn, world)
    result = await gql(world.actor(case.actor), case.document, case.variables(world))
    after = snapshot(owner_conn, world)
    assert "errors" not in result, result
    (node,) = result["data"].values()
    assert node["__typename"] == case.outcome, node
    if case.check is None:
        assert diff(before, after) == {}, "a refused mutation changed rows"
    else:
        case.check(world, before, after)


def test_every_success_case_has_a_check_and_every_problem_none() -> None:
    problems = {"NotAllowed", "NotFound", "InvalidInput", "Conflict"}
    for case in CASES:
        assert (case.outcome in problems) == (case.check is None), case.id


async def test_revocation_hides_the_profile_on_the_next_request(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    vc = world.actor("vc_active")
    startup = world.slugs["startup"]
    seen = await gql(vc, TENANT_PROFILE_Q, {"slug": startup})
    assert seen["data"]["tenant"]["profile"] is not None
    revoked = await gql(
        world.actor("startup_admin"), REVOKE_ACCESS, {"id": gid("PortfolioGrant", world.grants["vc_active"])}
    )
    assert revoked["data"]["revokePortfolioAccess"]["status"] == "REVOKED"
    after = await gql(vc, TENANT_PROFILE_Q, {"slug": startup})
    assert after["data"]["tenant"]["profile"] is None  # the tenant stays nameable (counterparty), its data not
    assert (await gql(vc, COMPANIES_Q))["data"]["companies"]["edges"] == []


async def test_approval_shows_the_profile_to_the_vc_and_nobody_else(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    approved = await gql(
        world.actor("startup_admin"),
        APPROVE_ACCESS,
        {"id": gid("PortfolioGrant", world.grants["vc_requested"]), "scopes": ["COMPANY"], "expiresAt": None},
    )
    assert approved["data"]["approvePortfolioAccess"]["status"] == "ACTIVE"
    for name in VCS:
        edges = (await gql(world.actor(name), COMPANIES_Q))["data"]["companies"]["edges"]
        slugs = {e["node"]["company"]["slug"] for e in edges}
        assert slugs == ({world.slugs["startup"]} if name in ("vc_active", "vc_requested") else set()), name
