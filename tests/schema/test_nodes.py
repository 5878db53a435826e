"""`node(id)` for every Node type: the owner gets the object back with the same global `id`, anyone else gets
the same NOT_FOUND as for an id that names nothing, and a malformed id is BAD_USER_INPUT."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from uuid import UUID

import psycopg
import pytest

from resolvers.global_ids import NODE_TYPE_NAMES
from tests.plugins.financials import FinancialsWorld
from tests.plugins.graphql import GraphQL, gid
from tests.plugins.world import World

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"

Seeder = Callable[[psycopg.Connection, World, FinancialsWorld], UUID]


def _one(conn: psycopg.Connection, sql: str, values: tuple[object, ...]) -> UUID:
    with conn.transaction():
        row = conn.execute(sql, values).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def _fund(conn: psycopg.Connection, world: World) -> UUID:
    return _one(
        conn,
        "insert into funds (tenant_id, name, currency) values (%s, %s, 'JPY') returning id",
        (world.tenants["vc_active"], f"Fund {uuid.uuid4()}"),
    )


def _invitation(conn: psycopg.Connection, world: World) -> UUID:
    owner = world.actor("startup_owner")
    with conn.transaction():  # the trigger checks that the inviter may invite: bind the owner's context
        conn.execute(
            "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
            (str(owner.user_id), str(owner.tenant_id)),
        )
        row = conn.execute(
            "insert into invitations (tenant_id, email, role) values (%s, %s, 'member') returning id",
            (world.tenants["startup"], f"invitee-{world.suffix}@example.com"),
        ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


# Type → (who may read it, who may not, how the row is seeded as the owner).
CASES: dict[str, tuple[str, str, Seeder]] = {
    "Tenant": ("vc_active", "other_startup_owner", lambda c, w, f: w.tenants["startup"]),
    "PortfolioGrant": ("vc_active", "other_startup_owner", lambda c, w, f: w.grants["vc_active"]),
    "KpiRequest": ("startup_owner", "other_startup_owner", lambda c, w, f: f.ids["request.vc_active"]),
    "FinancialReport": (
        "startup_owner",
        "other_startup_owner",
        lambda c, w, f: next(k[1] for k, v in f.rows["financial_reports"].items() if v == "S.draft"),
    ),
    "Fund": ("vc_active", "vc_revoked", lambda c, w, f: _fund(c, w)),
    "FundFlow": (
        "vc_active",
        "vc_revoked",
        lambda c, w, f: _one(
            c,
            "insert into fund_commitments (tenant_id, fund_id, limited_partner, amount, committed_on)"
            " values (%s, %s, 'LP', 100, '2024-01-01') returning id",
            (w.tenants["vc_active"], _fund(c, w)),
        ),
    ),
    "FundInvestment": (
        "vc_active",
        "vc_revoked",
        lambda c, w, f: _one(
            c,
            "insert into fund_investments (tenant_id, fund_id, company_tenant_id, stakeholder_id)"
            " values (%s, %s, %s, 'sh-1') returning id",
            (w.tenants["vc_active"], _fund(c, w), w.tenants["startup"]),
        ),
    ),
    "KpiDefinition": ("vc_active", "vc_revoked", lambda c, w, f: f.ids["S.def.arr"]),
    "KpiReport": ("startup_owner", "vc_active", lambda c, w, f: f.ids["S.kpi.draft"]),  # a VC never sees drafts
    "Invitation": ("startup_admin", "other_startup_owner", lambda c, w, f: _invitation(c, w)),
    "User": ("startup_viewer", "other_startup_owner", lambda c, w, f: w.actor("startup_owner").user_id),
    "StagedImport": (
        "startup_member",
        "startup_viewer",
        lambda c, w, f: _one(
            c, "insert into staged_imports (tenant_id, format) values (%s, 'OCF') returning id", (w.tenants["startup"],)
        ),
    ),
    "CostAssembly": (
        "billing_admin",
        "startup_owner",
        lambda c, w, f: _one(
            c,
            "insert into cost_assemblies (tenant_id, manifest_uri, source_name, kind, report, period, assembly_key,"
            " parts_total, created_by) values (%s, 'local:m.json', 'local', 'legacy-cur', 'r', '2026-01', 'a', 1, %s)"
            " returning id",
            (w.tenants["operator"], w.actor("billing_admin").user_id),
        ),
    ),
    "PricingPlan": (
        "billing_admin",
        "startup_owner",
        lambda c, w, f: _one(
            c,
            "insert into pricing_plans (tenant_id, name) values (%s, %s) returning id",
            (w.tenants["operator"], f"plan {w.suffix}"),
        ),
    ),
    "CostImport": (
        "billing_admin",
        "startup_owner",
        lambda c, w, f: _one(
            c,
            "insert into cost_imports (tenant_id, source_uri, created_by) values (%s, 'local:x.csv', %s) returning id",
            (w.tenants["operator"], w.actor("billing_admin").user_id),
        ),
    ),
    "InvoiceRun": (
        "billing_admin",
        "startup_owner",
        lambda c, w, f: _one(
            c,
            "insert into invoice_runs (tenant_id, period, created_by) values (%s, '2026-01', %s) returning id",
            (w.tenants["operator"], w.actor("billing_admin").user_id),
        ),
    ),
    "Invoice": (
        "billing_admin",
        "other_startup_owner",
        lambda c, w, f: _one(
            c,
            "insert into invoices (tenant_id, operator_id, period, currency, subtotal, tax, total)"
            " values (%s, %s, '2026-01', 'JPY', 0, 0, 0) returning id",
            (w.tenants["startup"], w.tenants["operator"]),
        ),
    ),
}


def test_every_node_type_is_covered() -> None:
    assert set(CASES) == NODE_TYPE_NAMES


@pytest.mark.parametrize("type_name", sorted(CASES))
async def test_node_fetches_what_its_own_query_shows_and_nothing_else(
    gql: GraphQL, owner_conn: psycopg.Connection, financials_world: FinancialsWorld, type_name: str
) -> None:
    world = financials_world.world
    reader, outsider, seed = CASES[type_name]
    key = seed(owner_conn, world, financials_world)
    global_id = gid(type_name, key)

    found = await gql(world.actor(reader), NODE, {"id": global_id})
    assert "errors" not in found, found
    assert found["data"]["node"] == {"__typename": type_name, "id": global_id}

    foreign = await gql(world.actor(outsider), NODE, {"id": global_id})
    unknown_id = gid(type_name, uuid.uuid4())
    unknown = await gql(world.actor(reader), NODE, {"id": unknown_id})
    for result, asked in ((foreign, global_id), (unknown, unknown_id)):
        assert result["data"] == {"node": None}
        (error,) = result["errors"]
        assert error["extensions"] == {"code": "NOT_FOUND"}
        assert error["message"] == f"no node {asked!r} is visible to you"  # the same answer, whatever the reason


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not base64 !",
        _b64("Tenant"),
        _b64(f"Nope:{uuid.uuid4()}"),
        _b64("Tenant:not-a-uuid-but-thirty-six-chars-"),
        _b64(f"Tenant:{str(uuid.uuid4()).upper()}"),
        _b64(f"Tenant:{uuid.uuid4()}:extra"),
        _b64(f"Tenant:{uuid.uuid4()}\x00"),
        base64.urlsafe_b64encode(b"\xff\xfe:" + b"0" * 36).decode(),
        "A" * 10_000,
        str(uuid.uuid4()),  # a raw id is not a global id
    ],
)
async def test_a_malformed_global_id_is_bad_user_input(gql: GraphQL, world: World, value: str) -> None:
    result = await gql(world.actor("startup_owner"), NODE, {"id": value})
    assert result["data"] == {"node": None}
    (error,) = result["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}, error


async def test_a_failing_node_keeps_its_healthy_sibling(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    query = "query($id: ID!) { node(id: $id) { id } me { user { email } } }"
    result = await gql(owner, query, {"id": gid("Invoice", uuid.uuid4())})
    assert result["data"] == {"node": None, "me": {"user": {"email": owner.email}}}
    assert [e["extensions"]["code"] for e in result["errors"]] == ["NOT_FOUND"]


async def test_the_anonymous_caller_is_unauthenticated(gql: GraphQL, world: World) -> None:
    from tests.plugins.world import ANONYMOUS

    result = await gql(ANONYMOUS, NODE, {"id": gid("Tenant", world.tenants["startup"])})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"]
