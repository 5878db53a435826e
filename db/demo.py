"""Demo data: one operator with a billing admin, three startups (its customers), two VCs, users in each, one
active grant, one pending request and one pending invitation. cli/demo_onboarding.py creates them through the
API's own paths (sign-in, createCustomer, createVentureFirm, invitations, grants); idempotent."""

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

# A pending invitation: (tenant slug, inviting admin, invited e-mail, role), left for the invitee to accept.
INVITATIONS = [("bluefinch", "founder@bluefinch.example", "board@kitsune.example", "viewer")]


@dataclass(frozen=True)
class DemoUser:
    email: str
    tenant: str
    role: str


def load_demo(owner_url: str) -> tuple[list[DemoUser], bool]:
    """The demo users, and whether the cap table of the first startup still has to be written (through the API,
    by the caller: it is not seed data but what a founder would enter). The tenants and users themselves are
    created through the API's paths (cli/demo_onboarding.py), not here."""
    with psycopg.connect(owner_url) as conn:
        ledger = conn.execute(
            "select count(*) from captable_objects o join tenants t on t.id = o.tenant_id where t.slug = %s",
            (STARTUPS[0][0],),
        ).fetchone()
    return [DemoUser(email, tenant, role) for email, _, tenant, role in USERS], ledger == (0,)
