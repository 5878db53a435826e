"""Cap-table fixtures: a startup's ledger written through the real GraphQL path, and owner-side row counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.plugins.graphql import GraphQL
from tests.plugins.world import Actor, World

CAPTABLE_TABLES = (
    "captable_objects",
    "stakeholder_links",
    "captable_snapshots",
    "captable_holdings",
    "funds",
    "fund_commitments",
    "capital_calls",
    "distributions",
    "fund_investments",
)

WRITE = """
mutation($events: [JSON!]!) {
  recordCapTableEvents(events: $events) {
    __typename
    ... on LedgerWritten { objectCount ids }
    ... on LedgerRejected { message problems { objectId objectType field reason } }
    ... on Problem { message }
  }
}
"""

USD = "USD"


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": USD}


def stakeholder(sid: str, name: str) -> dict[str, Any]:
    return {"object_type": "STAKEHOLDER", "id": sid, "name": {"legal_name": name}, "stakeholder_type": "INDIVIDUAL"}


def stock_class(cid: str, name: str, class_type: str, authorized: str) -> dict[str, Any]:
    return {
        "object_type": "STOCK_CLASS",
        "id": cid,
        "name": name,
        "class_type": class_type,
        "default_id_prefix": "S-",
        "initial_shares_authorized": authorized,
        "votes_per_share": "1",
        "seniority": "1",
    }


def stock_plan(pid: str, reserved: str) -> dict[str, Any]:
    return {
        "object_type": "STOCK_PLAN",
        "id": pid,
        "plan_name": "Plan",
        "initial_shares_reserved": reserved,
        "stock_class_ids": ["common"],
    }


def issue(
    eid: str, sid: str, holder: str, qty: str, when: str, cls: str = "common", price: str = "0.001"
) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_ISSUANCE",
        "id": eid,
        "date": when,
        "security_id": sid,
        "custom_id": sid,
        "stakeholder_id": holder,
        "security_law_exemptions": [],
        "stock_class_id": cls,
        "share_price": money(price),
        "quantity": qty,
        "stock_legend_ids": [],
    }


def transfer(eid: str, sid: str, qty: str, when: str, resulting: list[str]) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_TRANSFER",
        "id": eid,
        "date": when,
        "security_id": sid,
        "quantity": qty,
        "resulting_security_ids": resulting,
    }


def basic_ledger() -> list[dict[str, Any]]:
    """Two founders with 8,000,000 common; a 1,000,000 pool; an investor stakeholder without shares yet."""
    return [
        stakeholder("alice", "Alice"),
        stakeholder("bob", "Bob"),
        stakeholder("fund", "Fund I LP"),
        stock_class("common", "Common", "COMMON", "20000000"),
        stock_class("seriesA", "Series A", "PREFERRED", "5000000"),
        stock_plan("plan", "1000000"),
        issue("i-alice", "cs-alice", "alice", "5000000", "2024-01-10"),
        issue("i-bob", "cs-bob", "bob", "3000000", "2024-01-10"),
    ]


def series_a() -> list[dict[str, Any]]:
    """Series A: $2M at $1.00 (2,000,000 preferred to `fund`), pool topped up to 2,000,000."""
    return [
        {
            "object_type": "TX_STOCK_PLAN_POOL_ADJUSTMENT",
            "id": "pool-topup",
            "date": "2024-06-01",
            "stock_plan_id": "plan",
            "shares_reserved": "2000000",
        },
        issue("i-fund", "pa-fund", "fund", "2000000", "2024-06-01", cls="seriesA", price="1.00"),
        {
            "object_type": "FINANCING",
            "id": "series-a",
            "name": "Series A",
            "date": "2024-06-01",
            "issuance_ids": ["i-fund"],
            "x_roundpool_pre_money": money("8000000"),
            "x_roundpool_price_per_share": money("1.00"),
            "x_roundpool_amount_raised": money("2000000"),
        },
    ]


Record = Callable[[Actor, list[dict[str, Any]]], Awaitable[dict[str, Any]]]


@pytest.fixture
def record(gql: GraphQL) -> Record:
    async def run(actor: Actor, events: list[dict[str, Any]]) -> dict[str, Any]:
        result = await gql(actor, WRITE, {"events": events})
        assert "errors" not in result, result
        return result["data"]["recordCapTableEvents"]

    return run


def counts(conn: psycopg.Connection, tenant_ids: list[UUID] | None = None) -> dict[str, int]:
    """Rows per cap-table table (as the owner, behind the policies' back), optionally for some tenants."""
    found = {}
    for table in CAPTABLE_TABLES:
        if tenant_ids is None:
            row = conn.execute(f"select count(*) from {table}").fetchone()
        else:
            row = conn.execute(f"select count(*) from {table} where tenant_id = any(%s)", (tenant_ids,)).fetchone()
        assert row is not None
        found[table] = row[0]
    return found


SeedCapTable = Callable[[World], Awaitable[None]]


@pytest.fixture
def seed_cap_table(record: Record, gql: GraphQL) -> SeedCapTable:
    """The world's startup gets the basic ledger and Series A, and links `fund` to vc_active."""

    async def run(world: World) -> None:
        owner = world.actor("startup_owner")
        assert (await record(owner, basic_ledger() + series_a()))["__typename"] == "LedgerWritten"
        linked = await gql(
            owner,
            'mutation($vc: String!) { linkStakeholderToInvestor(stakeholderId: "fund", vcSlug: $vc) { __typename } }',
            {"vc": world.slugs["vc_active"]},
        )
        assert linked["data"]["linkStakeholderToInvestor"]["__typename"] == "StakeholderLink", linked

    return run
