"""The cap table through GraphQL: typed and generic writes, all-or-nothing rejection, the replayed cap table."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from tests.plugins.captable import Record, basic_ledger, counts, issue, series_a, transfer
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

CAP_TABLE = """
query($asOf: Date, $rule: ConvertibleRule! = EXCLUDE) {
  capTable(asOf: $asOf, convertibleRule: $rule) {
    asOf outstandingShares fullyDilutedShares
    positions { securityId stakeholderId kind quantity }
    holders { stakeholderId name ownership fullyDilutedShares fullyDilutedOwnership }
    classes { stockClassId name outstandingShares ownership }
    optionPools { stockPlanId reserved granted issued available }
  }
}
"""

TYPED = """
mutation($holder: CreateStakeholderInput!, $class: CreateStockClassInput!, $plan: CreateStockPlanInput!,
         $issue: IssueStockInput!, $grant: GrantEquityCompensationInput!) {
  a: createStakeholder(input: $holder) { __typename ... on LedgerWritten { ids } }
  b: createStockClass(input: $class) { __typename ... on LedgerWritten { ids } }
  c: createStockPlan(input: $plan) { __typename ... on LedgerWritten { ids } }
  d: issueStock(input: $issue) { __typename ... on LedgerWritten { ids } }
  e: grantEquityCompensation(input: $grant) {
    __typename ... on LedgerWritten { ids } ... on LedgerRejected { problems { objectId field reason } }
  }
}
"""


def _d(value: str) -> Decimal:
    return Decimal(value)


async def test_priced_round_with_pool_top_up_shows_expected_ownership(
    gql: GraphQL, world: World, record: Record
) -> None:
    owner = world.actor("startup_owner")
    assert (await record(owner, basic_ledger()))["__typename"] == "LedgerWritten"
    assert (await record(owner, series_a()))["__typename"] == "LedgerWritten"

    result = await gql(owner, CAP_TABLE, {"asOf": "2024-12-31"})

    assert "errors" not in result, result
    table = result["data"]["capTable"]
    # 8,000,000 founders + 2,000,000 Series A outstanding; the pool (topped up to 2,000,000) counts when diluted.
    assert _d(table["outstandingShares"]) == 10_000_000
    assert _d(table["fullyDilutedShares"]) == 12_000_000
    holders = {h["stakeholderId"]: h for h in table["holders"]}
    assert _d(holders["fund"]["ownership"]) == _d("0.2")
    assert _d(holders["fund"]["fullyDilutedOwnership"]).quantize(_d("1e-9")) == _d("0.166666667")
    assert _d(holders["alice"]["fullyDilutedOwnership"]).quantize(_d("1e-9")) == _d("0.416666667")
    classes = {c["stockClassId"]: c for c in table["classes"]}
    assert _d(classes["seriesA"]["ownership"]) == _d("0.2")
    assert _d(classes["common"]["outstandingShares"]) == 8_000_000
    (pool,) = table["optionPools"]
    assert (_d(pool["reserved"]), _d(pool["granted"]), _d(pool["available"])) == (2_000_000, 0, 2_000_000)

    before = await gql(owner, CAP_TABLE, {"asOf": "2024-05-31"})
    assert _d(before["data"]["capTable"]["fullyDilutedShares"]) == 9_000_000


async def test_typed_mutations_write_the_ledger(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_member")
    variables = {
        "holder": {"id": "carol", "name": "Carol", "stakeholderType": "INDIVIDUAL"},
        "class": {"id": "common", "name": "Common", "classType": "COMMON", "authorizedShares": "1000000"},
        "plan": {"id": "plan", "name": "2024 Plan", "reservedShares": "100000", "stockClassIds": ["common"]},
        "issue": {
            "id": "i1",
            "date": "2024-01-01",
            "securityId": "cs1",
            "stakeholderId": "carol",
            "stockClassId": "common",
            "quantity": "900000",
            "sharePrice": {"amount": "0.01", "currency": "JPY"},
        },
        "grant": {
            "id": "g1",
            "date": "2024-02-01",
            "securityId": "opt1",
            "stakeholderId": "carol",
            "stockPlanId": "plan",
            "quantity": "150000",
            "expirationDate": "2034-02-01",
        },
    }

    result = await gql(owner, TYPED, variables)

    assert "errors" not in result, result
    data = result["data"]
    assert [data[k]["__typename"] for k in "abcd"] == ["LedgerWritten"] * 4
    assert data["e"]["__typename"] == "LedgerRejected"  # 150,000 granted from a 100,000 pool
    assert data["e"]["problems"][0]["objectId"] == "g1"
    assert "above the 100000 reserved" in data["e"]["problems"][0]["reason"]


async def test_rejected_write_names_every_problem_and_writes_nothing(
    world: World, record: Record, owner_conn: psycopg.Connection
) -> None:
    owner = world.actor("startup_admin")
    await record(owner, basic_ledger())
    before = counts(owner_conn, [world.tenants["startup"]])

    outcome = await record(
        owner,
        [
            issue("i-new", "cs-new", "bob", "4000000", "2024-02-01"),
            transfer("t-1", "cs-alice", "6000000", "2024-02-01", ["cs-new"]),  # Alice holds 5,000,000
            {"object_type": "TX_STOCK_ISSUANCE", "id": "broken", "date": "2024-13-01"},
            issue("i-ghost", "cs-ghost", "nobody", "10", "2024-02-01"),
        ],
    )

    assert outcome["__typename"] == "LedgerRejected"
    fields = {(p["objectId"], p["field"]) for p in outcome["problems"]}
    assert ("broken", "date") in fields
    assert ("broken", "security_id") in fields
    assert counts(owner_conn, [world.tenants["startup"]]) == before


async def test_replay_problems_are_reported_when_items_are_well_formed(world: World, record: Record) -> None:
    owner = world.actor("startup_owner")
    await record(owner, basic_ledger())

    outcome = await record(
        owner,
        [
            issue("i-new", "cs-new", "bob", "6000000", "2024-02-01"),
            transfer("t-1", "cs-alice", "6000000", "2024-02-01", ["cs-new"]),
            issue("i-ghost", "cs-ghost", "nobody", "10", "2024-02-01"),
        ],
    )

    assert outcome["__typename"] == "LedgerRejected"
    problems = {(p["objectId"], p["field"]): p["reason"] for p in outcome["problems"]}
    assert "exceeds the 5000000 outstanding" in problems[("t-1", "quantity")]
    assert "stakeholder 'nobody' does not exist" in problems[("i-ghost", "stakeholder_id")]


async def test_viewers_and_grantees_may_not_write(world: World, record: Record, owner_conn: psycopg.Connection) -> None:
    before = counts(owner_conn)
    for name in ("startup_viewer", "vc_active", "billing_admin"):
        outcome = await record(world.actor(name), basic_ledger())
        assert outcome["__typename"] == "NotAllowed", name
    assert counts(owner_conn) == before


async def test_vesting_status(gql: GraphQL, world: World, record: Record) -> None:
    owner = world.actor("startup_owner")
    await record(owner, basic_ledger())
    grant = {
        "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
        "id": "g1",
        "date": "2024-01-01",
        "security_id": "opt1",
        "custom_id": "opt1",
        "stakeholder_id": "bob",
        "security_law_exemptions": [],
        "compensation_type": "OPTION",
        "quantity": "4800",
        "expiration_date": "2034-01-01",
        "termination_exercise_windows": [],
        "stock_plan_id": "plan",
        "vestings": [{"date": "2024-07-01", "amount": "1200"}, {"date": "2025-01-01", "amount": "3600"}],
    }
    assert (await record(owner, [grant]))["__typename"] == "LedgerWritten"

    result = await gql(
        world.actor("startup_viewer"),
        'query { vestingStatus(securityId: "opt1", asOf: "2024-08-01") { quantity vested unvested } }',
    )

    assert result["data"]["vestingStatus"] == {"quantity": "4800", "vested": "1200", "unvested": "3600"}
