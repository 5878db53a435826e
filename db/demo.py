"""Demo data: one operator with a billing admin, three startups, two VCs, users in each, one active grant,
one pending request and one pending invitation. Loaded as the owner (it is seed data, not a request);
idempotent."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

OPERATOR = ("nimbus-ops", "Nimbus Cloud Reseller", "operator")
STARTUPS = [
    ("kitsune", "Kitsune Robotics", "Kitsune Robotics K.K.", "JP", "robotics", "series_a"),
    ("bluefinch", "Blue Finch Bio", "Blue Finch Bio, Inc.", "US", "biotech", "seed"),
    ("tanuki", "Tanuki Pay", "Tanuki Pay Ltd.", "GB", "fintech", "pre_seed"),
]
VCS = [("sakura-vc", "Sakura Ventures"), ("harbor-capital", "Harbor Capital")]
USERS = [
    # email, display name, tenant slug, role
    ("billing@nimbus.example", "Noa Billing", "nimbus-ops", "billing_admin"),
    ("ops-owner@nimbus.example", "Oren Ops", "nimbus-ops", "owner"),
    ("founder@kitsune.example", "Kenji Founder", "kitsune", "owner"),
    ("cfo@kitsune.example", "Keiko CFO", "kitsune", "admin"),
    ("eng@kitsune.example", "Kai Engineer", "kitsune", "member"),
    ("board@kitsune.example", "Kumi Observer", "kitsune", "viewer"),
    ("founder@bluefinch.example", "Bea Founder", "bluefinch", "owner"),
    ("founder@tanuki.example", "Taro Founder", "tanuki", "owner"),
    ("partner@sakura.example", "Sora Partner", "sakura-vc", "owner"),
    ("analyst@sakura.example", "Saki Analyst", "sakura-vc", "viewer"),
    ("partner@harbor.example", "Hugo Partner", "harbor-capital", "owner"),
]

# A pending invitation: (tenant slug, inviting admin, invited e-mail, role). The invitee accepts it through the
# API (acceptInvitation); the database files it under the inviter's context, as the API would.
INVITATIONS = [("bluefinch", "founder@bluefinch.example", "board@kitsune.example", "viewer")]


@dataclass(frozen=True)
class DemoUser:
    email: str
    tenant: str
    role: str


def load_demo(owner_url: str) -> tuple[list[DemoUser], bool]:
    """The demo users, and whether the cap table of the first startup still has to be written (through the API,
    by the caller: it is not seed data but what a founder would enter)."""
    with psycopg.connect(owner_url) as conn, conn.transaction():
        if conn.execute("select 1 from tenants where slug = %s", (OPERATOR[0],)).fetchone() is None:
            _insert(conn)
        ledger = conn.execute(
            "select count(*) from captable_objects o join tenants t on t.id = o.tenant_id where t.slug = %s",
            (STARTUPS[0][0],),
        ).fetchone()
    return [DemoUser(email, tenant, role) for email, _, tenant, role in USERS], ledger == (0,)


def _insert(conn: psycopg.Connection) -> None:
    ids: dict[str, object] = {}
    operator = conn.execute("insert into tenants (slug, name, kind) values (%s, %s, %s) returning id", OPERATOR)
    ids[OPERATOR[0]] = operator.fetchone()[0]  # type: ignore[index]
    for slug, name, legal, country, sector, stage in STARTUPS:
        row = conn.execute(
            "insert into tenants (slug, name, kind, operator_id) values (%s, %s, 'startup', %s) returning id",
            (slug, name, ids[OPERATOR[0]]),
        ).fetchone()
        assert row is not None
        ids[slug] = row[0]
        conn.execute(
            "insert into company_profiles (tenant_id, legal_name, country, sector, stage, founded_on, website)"
            " values (%s, %s, %s, %s, %s, date '2021-04-01', %s)",
            (row[0], legal, country, sector, stage, f"https://{slug}.example"),
        )
    for slug, name in VCS:
        row = conn.execute(
            "insert into tenants (slug, name, kind) values (%s, %s, 'vc') returning id", (slug, name)
        ).fetchone()
        assert row is not None
        ids[slug] = row[0]
    user_ids: dict[str, object] = {}
    for email, display, tenant, role in USERS:
        row = conn.execute(
            "insert into users (email, display_name) values (%s, %s) returning id", (email, display)
        ).fetchone()
        assert row is not None
        user_ids[email] = row[0]
        conn.execute(
            "insert into memberships (tenant_id, user_id, role) values (%s, %s, %s)", (ids[tenant], row[0], role)
        )
    conn.execute(
        "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, scopes, status,"
        " requested_by, decided_by) values (%s, %s, %s, %s, 'active', %s, %s)",
        (
            ids["kitsune"],
            ids["sakura-vc"],
            ["company", "captable", "financials"],
            ["company", "captable", "financials"],
            user_ids["partner@sakura.example"],
            user_ids["founder@kitsune.example"],
        ),
    )
    conn.execute(
        "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, requested_by)"
        " values (%s, %s, %s, %s)",
        (ids["bluefinch"], ids["harbor-capital"], ["company", "captable"], user_ids["partner@harbor.example"]),
    )
    for tenant, inviter, email, role in INVITATIONS:
        conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(user_ids[inviter]), str(ids[tenant])),
        )
        conn.execute("insert into invitations (tenant_id, email, role) values (%s, %s, %s)", (ids[tenant], email, role))
    conn.execute("select set_config('app.user_id', '', true), set_config('app.tenant_id', '', true)")
