"""Onboarding through HTTP as the real app role: users exist only through their identity provider's token
(created on their first request), startups and VCs are created by their first owner, an operator (made only by
the owner role) gets a billing admin by invitation, and the billing admin creates a customer whose first owner
accepts. Every refusal is checked against the owner's view of users, tenants, memberships and audit events."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from db.operators import OperatorRefused, create_operator
from policies.tokens import mint_token
from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET, token_for
from tests.plugins.world import World

PROBLEM = "__typename ... on Problem { message } ... on InvalidInput { field }"
ME = "query { me { user { email } actingTenant { slug } } }"
CREATE_STARTUP = f"""
mutation($slug: String!, $name: String!) {{
  createStartup(slug: $slug, name: $name) {{ {PROBLEM} ... on Tenant {{ id slug name kind }} }}
}}"""
CREATE_VC = f"""
mutation($slug: String!, $name: String!) {{
  createVentureFirm(slug: $slug, name: $name) {{ {PROBLEM} ... on Tenant {{ id slug name kind }} }}
}}"""
CREATE_CUSTOMER = f"""
mutation($slug: String!, $name: String!, $email: String!) {{
  createCustomer(slug: $slug, name: $name, ownerEmail: $email) {{
    {PROBLEM} ... on CustomerCreated {{ customer {{ id slug kind }} invitation {{ id email role status }} }}
  }}
}}"""
INVITE = f"""
mutation($email: String!, $role: Role!) {{
  inviteMember(email: $email, role: $role) {{ {PROBLEM} ... on Invitation {{ id role }} }}
}}"""
ACCEPT = (
    f"mutation($id: ID!) {{ acceptInvitation(id: $id) {{ {PROBLEM} ... on Membership {{ role tenant {{ slug }} }} }} }}"
)
DECLINE = f"mutation($id: ID!) {{ declineInvitation(id: $id) {{ {PROBLEM} ... on Invitation {{ status }} }} }}"
MINE = "query { myInvitations(first: 10) { edges { node { id role tenant { slug } } } } }"
TENANTS = "query { tenants(first: 10) { edges { node { role tenant { slug kind } } } } }"

Post = Callable[..., Awaitable[dict[str, Any]]]


class Person:
    """Someone known only to the identity provider: a subject, and an address it may or may not verify."""

    def __init__(self, label: str, *, verified: bool = True, subject: str | None = None, email: str | None = None):
        tag = uuid.uuid4().hex[:10]
        self.subject = subject or f"idp|{label}-{tag}"
        self.email = email or f"{label}-{tag}@signup.example"
        self.verified = verified

    def token(self, *, email: str | None = None) -> str:
        return mint_token(JWT_SECRET, self.subject, email=email or self.email, email_verified=self.verified)


def _slug(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def post(http_client: httpx.AsyncClient) -> Post:
    async def run(
        token: str, query: str, variables: dict[str, Any] | None = None, *, tenant: str | None = None, status: int = 200
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}", **({"x-tenant": tenant} if tenant else {})}
        response = await http_client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


def _users(owner: psycopg.Connection, *subjects: str) -> list[dict[str, Any]]:
    with owner.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "select id, issuer, subject, email from users where subject = any(%s) order by subject", (list(subjects),)
        ).fetchall()


def _counts(owner: psycopg.Connection) -> tuple[Any, ...]:
    row = owner.execute(
        "select (select count(*) from tenants), (select count(*) from users), (select count(*) from memberships),"
        " (select count(*) from invitations), (select count(*) from audit_events)"
    ).fetchone()
    assert row is not None
    return tuple(row)


def _tenant(owner: psycopg.Connection, slug: str) -> dict[str, Any] | None:
    with owner.cursor(row_factory=dict_row) as cur:
        return cur.execute("select id, kind, operator_id from tenants where slug = %s", (slug,)).fetchone()


def _audit(owner: psycopg.Connection, tenant_id: Any) -> list[tuple[str, Any, Any]]:
    rows = owner.execute(
        "select action, actor_user_id, actor_tenant_id from audit_events where tenant_id = %s order by id", (tenant_id,)
    ).fetchall()
    return [tuple(r) for r in rows]


# Just-in-time users --------------------------------------------------------------------------------------------


async def test_the_first_request_creates_exactly_one_user_and_the_next_none(
    post: Post, owner_conn: psycopg.Connection
) -> None:
    person = Person("jit")
    assert _users(owner_conn, person.subject) == []
    first = await post(person.token(), ME)
    created = _users(owner_conn, person.subject)
    assert [(u["issuer"], u["email"]) for u in created] == [("", person.email)]
    assert first["data"]["me"] == {"user": {"email": person.email}, "actingTenant": None}
    before = _counts(owner_conn)
    second = await post(person.token(), ME)
    assert second["data"]["me"] == first["data"]["me"]
    assert _counts(owner_conn) == before


async def test_provisioning_principal_and_work_are_one_transaction(
    post: Post, owner_conn: psycopg.Connection, world: World
) -> None:
    """A first request refused for a tenant the new user does not belong to (403) rolls its provisioning back
    with it: no user, nothing else written. The same request for no tenant creates the user in the transaction
    whose work then sees it (one backend, one transaction id)."""
    person = Person("one-tx")
    before = _counts(owner_conn)
    await post(person.token(), ME, tenant=world.actor("startup_owner").tenant_slug, status=403)
    assert _users(owner_conn, person.subject) == []
    assert _counts(owner_conn) == before
    body = await post(person.token(), "query { me { user { email } } }")
    assert body["data"]["me"] == {"user": {"email": person.email}}
    (created,) = _users(owner_conn, person.subject)
    row = owner_conn.execute("select xmin::text from users where id = %s", (created["id"],)).fetchone()
    assert row is not None
    assert row[0] != "0"


@pytest.mark.parametrize("claims", ["unverified", "no address", "not an address"])
async def test_an_unverified_address_creates_no_user(
    http_client: httpx.AsyncClient, owner_conn: psycopg.Connection, claims: str
) -> None:
    person = Person("unverified", verified=claims != "unverified")
    token = {
        "unverified": person.token(),
        "no address": mint_token(JWT_SECRET, person.subject),
        "not an address": person.token(email="nobody-at-all"),
    }[claims]
    before = _counts(owner_conn)
    response = await http_client.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "verified e-mail" in response.json()["errors"][0]["message"]
    assert _users(owner_conn, person.subject) == []
    assert _counts(owner_conn) == before


async def test_an_address_of_another_account_is_refused_not_merged(
    http_client: httpx.AsyncClient, post: Post, owner_conn: psycopg.Connection, world: World
) -> None:
    victim = world.actor("startup_owner")
    assert victim.email
    intruder = Person("intruder", email=victim.email)
    before = _counts(owner_conn)
    victim_row = owner_conn.execute("select * from users where id = %s", (victim.user_id,)).fetchone()
    response = await http_client.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {intruder.token()}"}
    )
    assert response.status_code == 401
    assert "belongs to another account" in response.json()["errors"][0]["message"]
    assert _users(owner_conn, intruder.subject) == []
    assert owner_conn.execute("select * from users where id = %s", (victim.user_id,)).fetchone() == victim_row
    assert _counts(owner_conn) == before
    # The victim's own token still works, and acts for the victim's tenant.
    mine = await post(token_for(victim), ME)
    assert mine["data"]["me"]["user"]["email"] == victim.email


async def test_an_existing_subject_cannot_take_over_another_address(
    post: Post, owner_conn: psycopg.Connection, world: World
) -> None:
    """A token of user A that claims B's (verified) address is still A, and sees none of B's invitations."""
    holder = Person("holder")
    await post(holder.token(), ME)
    founder = world.actor("startup_owner")
    invited = await post(
        token_for(founder), INVITE, {"email": "invitee-" + world.suffix + "@example.com", "role": "ADMIN"}
    )
    assert invited["data"]["inviteMember"]["__typename"] == "Invitation"
    spoofed = await post(holder.token(email="invitee-" + world.suffix + "@example.com"), ME)
    assert spoofed["data"]["me"]["user"]["email"] == holder.email
    assert (await post(holder.token(email="invitee-" + world.suffix + "@example.com"), MINE))["data"]["myInvitations"][
        "edges"
    ] == []
    assert [u["email"] for u in _users(owner_conn, holder.subject)] == [holder.email]


# Sign-up from nothing ------------------------------------------------------------------------------------------


async def test_a_startup_a_vc_and_an_operator_with_its_customer_from_nothing(
    post: Post, owner_conn: psycopg.Connection, test_database: TestDatabase
) -> None:
    founder, partner, ops, billing, customer_owner, stranger = (
        Person(label) for label in ("founder", "partner", "ops", "billing", "customer", "stranger")
    )
    startup_slug, vc_slug, operator_slug, customer_slug = (_slug(k) for k in ("acme", "fund", "cloud", "client"))

    # A startup and a VC, each owned by a person who exists only through their token.
    startup = (await post(founder.token(), CREATE_STARTUP, {"slug": startup_slug, "name": " Acme "}))["data"]
    assert startup["createStartup"]["slug"] == startup_slug
    assert (startup["createStartup"]["name"], startup["createStartup"]["kind"]) == ("Acme", "STARTUP")
    vc = (await post(partner.token(), CREATE_VC, {"slug": vc_slug, "name": "Fund"}))["data"]["createVentureFirm"]
    assert vc["kind"] == "VC"
    assert (await post(founder.token(), TENANTS))["data"]["tenants"]["edges"] == [
        {"node": {"role": "OWNER", "tenant": {"slug": startup_slug, "kind": "STARTUP"}}}
    ]
    startup_row = _tenant(owner_conn, startup_slug)
    assert startup_row is not None
    founder_id = _users(owner_conn, founder.subject)[0]["id"]
    assert _audit(owner_conn, startup_row["id"]) == [("tenant.created", founder_id, None)]

    # The founder invites the partner (accepted) and a stranger (declined).
    invited = await post(founder.token(), INVITE, {"email": partner.email, "role": "VIEWER"}, tenant=startup_slug)
    declined_invitation = await post(founder.token(), INVITE, {"email": stranger.email, "role": "MEMBER"})
    accepted = await post(partner.token(), ACCEPT, {"id": invited["data"]["inviteMember"]["id"]})
    assert accepted["data"]["acceptInvitation"] == {
        "__typename": "Membership",
        "role": "VIEWER",
        "tenant": {"slug": startup_slug},
    }
    refused = await post(stranger.token(), DECLINE, {"id": declined_invitation["data"]["inviteMember"]["id"]})
    assert refused["data"]["declineInvitation"] == {"__typename": "Invitation", "status": "DECLINED"}
    assert (await post(stranger.token(), TENANTS))["data"]["tenants"]["edges"] == []

    # An operator only through the owner role; its owner signed up before, so joins at once.
    await post(ops.token(), ME)
    created = create_operator(test_database.owner_url, operator_slug, "Cloud Ops", ops.email)
    assert created.owner_is_member
    operator_row = _tenant(owner_conn, operator_slug)
    assert operator_row is not None
    assert operator_row["kind"] == "operator"
    assert [a[0] for a in _audit(owner_conn, operator_row["id"])] == ["tenant.created"]
    hired = await post(ops.token(), INVITE, {"email": billing.email, "role": "BILLING_ADMIN"})
    joined = await post(billing.token(), ACCEPT, {"id": hired["data"]["inviteMember"]["id"]})
    assert joined["data"]["acceptInvitation"]["role"] == "BILLING_ADMIN"

    # The billing admin creates a customer and invites its first owner, who accepts.
    made = await post(
        billing.token(),
        CREATE_CUSTOMER,
        {"slug": customer_slug, "name": "Client", "email": customer_owner.email.upper()},
    )
    result = made["data"]["createCustomer"]
    assert result["__typename"] == "CustomerCreated", result
    assert result["customer"] == {"id": result["customer"]["id"], "slug": customer_slug, "kind": "STARTUP"}
    assert result["invitation"] == {
        "id": result["invitation"]["id"],
        "email": customer_owner.email,
        "role": "OWNER",
        "status": "PENDING",
    }
    customer_row = _tenant(owner_conn, customer_slug)
    assert customer_row is not None
    assert customer_row["operator_id"] == operator_row["id"]
    billing_id = _users(owner_conn, billing.subject)[0]["id"]
    assert _audit(owner_conn, customer_row["id"]) == [
        ("tenant.created", billing_id, operator_row["id"]),
        ("invitation.created", None, None),
    ]
    assert _audit(owner_conn, operator_row["id"])[-1] == ("customer.created", billing_id, operator_row["id"])
    assert owner_conn.execute(
        "select count(*) from memberships where tenant_id = %s", (customer_row["id"],)
    ).fetchone() == (0,)
    mine = (await post(customer_owner.token(), MINE))["data"]["myInvitations"]["edges"]
    assert mine == [{"node": {"id": result["invitation"]["id"], "role": "OWNER", "tenant": {"slug": customer_slug}}}]
    owned = await post(customer_owner.token(), ACCEPT, {"id": result["invitation"]["id"]})
    assert owned["data"]["acceptInvitation"]["role"] == "OWNER"
    assert (await post(customer_owner.token(), ME))["data"]["me"]["actingTenant"] == {"slug": customer_slug}


async def test_an_operator_owner_without_an_account_is_invited(
    post: Post, owner_conn: psycopg.Connection, test_database: TestDatabase
) -> None:
    future = Person("future-ops")
    slug = _slug("ops")
    created = create_operator(test_database.owner_url, slug, "Later Ops", future.email)
    assert not created.owner_is_member
    assert owner_conn.execute(
        "select count(*) from memberships where tenant_id = %s", (created.tenant_id,)
    ).fetchone() == (0,)
    invitation = (await post(future.token(), MINE))["data"]["myInvitations"]["edges"]
    assert [e["node"]["role"] for e in invitation] == ["OWNER"]
    joined = await post(future.token(), ACCEPT, {"id": invitation[0]["node"]["id"]})
    assert joined["data"]["acceptInvitation"]["tenant"] == {"slug": slug}
    with pytest.raises(OperatorRefused, match="taken"):
        create_operator(test_database.owner_url, slug, "Again", future.email)
    with pytest.raises(OperatorRefused, match="slug"):
        create_operator(test_database.owner_url, "X", "Bad", future.email)


# Refusals ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "name", "field"),
    [
        ("ab", "Name", "slug"),
        ("x" * 41, "Name", "slug"),
        ("Upper", "Name", "slug"),
        ("-lead", "Name", "slug"),
        ("trail-", "Name", "slug"),
        ("has space", "Name", "slug"),
        ("good-slug", "  ", "name"),
        ("good-slug", "n" * 201, "name"),
    ],
)
async def test_malformed_slugs_and_names_are_refused(
    post: Post, owner_conn: psycopg.Connection, slug: str, name: str, field: str
) -> None:
    person = Person("malformed")
    await post(person.token(), ME)
    before = _counts(owner_conn)
    for document, root in ((CREATE_STARTUP, "createStartup"), (CREATE_VC, "createVentureFirm")):
        answer = (await post(person.token(), document, {"slug": slug, "name": name}))["data"][root]
        assert (answer["__typename"], answer["field"]) == ("InvalidInput", field)
    assert _counts(owner_conn) == before


async def test_a_taken_slug_is_a_conflict(post: Post, owner_conn: psycopg.Connection, world: World) -> None:
    person = Person("late")
    await post(person.token(), ME)
    before = _counts(owner_conn)
    for slug in (world.slugs["startup"], world.slugs["operator"]):
        for document, root in ((CREATE_STARTUP, "createStartup"), (CREATE_VC, "createVentureFirm")):
            answer = (await post(person.token(), document, {"slug": slug, "name": "Mine"}))["data"][root]
            assert answer["__typename"] == "Conflict", answer
    billing = world.actor("billing_admin")
    answer = await post(
        token_for(billing), CREATE_CUSTOMER, {"slug": world.slugs["startup"], "name": "X", "email": "a@b.example"}
    )
    assert answer["data"]["createCustomer"]["__typename"] == "Conflict"
    assert _counts(owner_conn) == before


@pytest.mark.parametrize("actor", ["startup_owner", "startup_admin", "vc_active", "other_startup_owner"])
async def test_only_billing_admins_of_an_operator_create_customers(
    post: Post, owner_conn: psycopg.Connection, world: World, actor: str
) -> None:
    before = _counts(owner_conn)
    slug = _slug("stolen")
    answer = await post(
        token_for(world.actor(actor)), CREATE_CUSTOMER, {"slug": slug, "name": "X", "email": "a@b.example"}
    )
    assert answer["data"]["createCustomer"]["__typename"] == "NotAllowed"
    assert _tenant(owner_conn, slug) is None
    assert _counts(owner_conn) == before


async def test_an_operator_owner_who_is_not_billing_admin_cannot_create_customers(
    post: Post, owner_conn: psycopg.Connection, world: World, test_database: TestDatabase
) -> None:
    ops = Person("ops-only")
    await post(ops.token(), ME)
    create_operator(test_database.owner_url, _slug("ownerops"), "Owner Ops", ops.email)
    before = _counts(owner_conn)
    answer = await post(ops.token(), CREATE_CUSTOMER, {"slug": _slug("c"), "name": "X", "email": "a@b.example"})
    assert answer["data"]["createCustomer"]["__typename"] == "NotAllowed"
    assert _counts(owner_conn) == before


async def test_a_billing_admin_cannot_create_a_customer_under_another_operator(
    post: Post,
    owner_conn: psycopg.Connection,
    world: World,
    test_database: TestDatabase,
    app_conn: psycopg.Connection,
) -> None:
    billing = world.actor("billing_admin")
    other = create_operator(
        test_database.owner_url, _slug("rival"), "Rival Ops", "rival-" + world.suffix + "@x.example"
    )
    other_slug = owner_conn.execute("select slug from tenants where id = %s", (other.tenant_id,)).fetchone()[0]
    before = _counts(owner_conn)
    # Choosing the other operator as the acting tenant is refused before anything runs.
    await post(
        token_for(billing),
        CREATE_CUSTOMER,
        {"slug": _slug("c"), "name": "X", "email": "a@b.example"},
        tenant=other_slug,
        status=403,
    )
    # A forged context straight in SQL: the acting tenant counts only for its members.
    with app_conn.transaction(force_rollback=True):
        app_conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(billing.user_id), str(other.tenant_id)),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute("select * from app.create_customer('forged-customer', 'X', 'a@b.example')")
    assert _counts(owner_conn) == before
    # Its own customers always land under its own operator.
    slug = _slug("own")
    made = await post(token_for(billing), CREATE_CUSTOMER, {"slug": slug, "name": "Own", "email": "a@b.example"})
    assert made["data"]["createCustomer"]["__typename"] == "CustomerCreated"
    assert (_tenant(owner_conn, slug) or {})["operator_id"] == world.tenants["operator"]


async def test_the_api_has_no_way_to_create_an_operator(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    before = _counts(owner_conn)
    actor = world.actor("startup_owner")
    for statement in (
        "select * from app.create_tenant('sneaky-ops', 'X', 'operator')",
        "select * from app.create_operator('sneaky-ops', 'X', 'a@b.example')",
        "select * from app.record_tenant_created((select t from tenants t limit 1), null, null)",
    ):
        with app_conn.transaction(force_rollback=True):
            app_conn.execute(
                "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                (str(actor.user_id), str(actor.tenant_id)),
            )
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app_conn.execute(statement)
    assert _counts(owner_conn) == before


@pytest.mark.parametrize(
    "statement",
    [
        "insert into tenants (slug, name, kind) values ('raw-startup', 'Raw', 'startup')",
        "insert into tenants (slug, name, kind) values ('raw-ops', 'Raw', 'operator')",
        "insert into memberships (tenant_id, user_id, role) values (%(tenant)s, %(user)s, 'owner')",
        "insert into users (email) values ('raw@example.com')",
        "update users set subject = 'idp|someone-else' where id = %(user)s",
        "update tenants set operator_id = null where id = %(tenant)s",
        "select app.provision_user('', %(user)s::text, null, null) is null",  # a call, but see the assertion
    ],
)
def test_raw_sql_as_the_app_role_cannot_create_tenants_or_memberships(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World, statement: str
) -> None:
    actor = world.actor("startup_owner")
    before = _counts(owner_conn)
    params = {"tenant": world.tenants["other_startup"], "user": actor.user_id}
    with app_conn.transaction(force_rollback=True):
        app_conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(actor.user_id), str(actor.tenant_id)),
        )
        if statement.startswith("select app.provision_user"):
            # The function answers an existing identity's id and nothing more: no row is written.
            assert app_conn.execute(statement, params).fetchone() == (False,)
        else:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app_conn.execute(statement, params)
    assert _counts(owner_conn) == before
