"""Exit waterfalls, pro-forma rounds and portfolio payouts through GraphQL, as the real app role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import event

from db.session import Database
from tests.plugins.captable import (
    Record,
    SeedCapTable,
    counts,
    issue,
    money,
    stakeholder,
    stock_class,
)
from tests.plugins.graphql import GraphQL, gid
from tests.plugins.world import World

D = Decimal

WATERFALL = """
query($exit: Decimal!, $company: ID, $assumptions: WaterfallAssumptionsInput) {
  exitWaterfall(exitValue: $exit, company: $company, asOf: "2024-12-31", assumptions: $assumptions) {
    companyId exitValue currency commonPricePerShare stable unallocated
    classes { sourceId name kind decision capped shares claim amount exactAmount alternativeAmount }
    holders { stakeholderId name amount }
    lines { stakeholderId sourceId amount preference participation }
  }
}
"""

PRO_FORMA = """
query($money: Decimal!, $pre: Decimal, $price: Decimal, $pool: PoolTopUpInput, $company: ID) {
  proFormaRound(newMoney: $money, preMoney: $pre, pricePerShare: $price, poolTopUp: $pool, company: $company,
                asOf: "2024-12-31") {
    companyId pricePerShare preMoney postMoney investorShares newPoolShares preMoneyFullyDiluted
    postMoneyFullyDiluted conversions { securityId shares capped }
    rows { stakeholderId sourceId kind shares ownership }
  }
}
"""

PAYOUTS = """
query($values: [Decimal!]!) {
  portfolio { company { slug } payouts(exitValues: $values) { exitValue amount currency } }
}
"""


def series_b() -> list[dict[str, Any]]:
    """Series B: 1,000,000 shares at $2.00 to `fund`, 1x non-participating, senior to Series A."""
    cls = stock_class("seriesB", "Series B", "PREFERRED", "1000000")
    cls.update(seniority="2", liquidation_preference_multiple="1", price_per_share=money("2.00"))
    return [cls, issue("i-fund-b", "pb-fund", "fund", "1000000", "2024-09-01", cls="seriesB", price="2.00")]


async def _seed(world: World, seed_cap_table: SeedCapTable, record: Record) -> None:
    await seed_cap_table(world)  # alice 5,000,000 and bob 3,000,000 common, fund 2,000,000 Series A at $1
    assert (await record(world.actor("startup_owner"), series_b()))["__typename"] == "LedgerWritten"


def _audits(owner: psycopg.Connection, world: World, subject: str) -> int:
    row = owner.execute(
        "select count(*) from audit_events where tenant_id = %s and action = 'grant.read' and subject_id = %s",
        (world.tenants["startup"], subject),
    ).fetchone()
    assert row is not None
    return int(row[0])


async def test_founder_runs_the_waterfall_at_a_low_and_a_high_exit(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record
) -> None:
    await _seed(world, seed_cap_table, record)
    owner = world.actor("startup_owner")

    low = await gql(owner, WATERFALL, {"exit": "5000000"})
    assert "errors" not in low, low
    result = low["data"]["exitWaterfall"]
    decisions = {c["sourceId"]: c["decision"] for c in result["classes"]}
    # Series A has no preference in this ledger; Series B takes its $2M, the $3M left goes over 10,000,000 shares
    assert decisions == {"common": "COMMON", "seriesA": "COMMON", "seriesB": "PREFERENCE"}
    assert {h["stakeholderId"]: D(h["amount"]) for h in result["holders"]} == {
        "alice": 1_500_000,
        "bob": 900_000,
        "fund": 2_600_000,
    }
    assert (result["currency"], D(result["unallocated"]), result["stable"]) == ("USD", 0, True)
    series_b_class = next(c for c in result["classes"] if c["sourceId"] == "seriesB")
    assert D(series_b_class["alternativeAmount"]) < D(series_b_class["exactAmount"]) == D(2_000_000)

    high = (await gql(owner, WATERFALL, {"exit": "50000000"}))["data"]["exitWaterfall"]
    assert {c["sourceId"]: c["decision"] for c in high["classes"]}["seriesB"] == "CONVERTS"
    paid = {h["stakeholderId"]: D(h["amount"]) for h in high["holders"]}
    assert sum(paid.values()) == 50_000_000
    # 3 of 11 million common-equivalent shares: 13,636,363.636…, rounded per line (A .09, B .54; the cents left
    # over go to the larger fractions, alice and bob)
    assert paid["fund"] == D("13636363.63")


async def test_assumptions_make_a_class_participate(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record
) -> None:
    await _seed(world, seed_cap_table, record)
    assumptions = {"participation": [{"stockClassId": "seriesB", "participating": True}]}
    result = await gql(world.actor("startup_owner"), WATERFALL, {"exit": "5000000", "assumptions": assumptions})
    paid = {h["stakeholderId"]: D(h["amount"]) for h in result["data"]["exitWaterfall"]["holders"]}
    # $2M preference, then $3M over 11,000,000 shares
    assert paid["alice"] == D("1363636.36")
    assert sum(paid.values()) == 5_000_000


async def test_founder_models_a_round_and_nothing_is_written(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record, owner_conn: psycopg.Connection
) -> None:
    await _seed(world, seed_cap_table, record)
    before = counts(owner_conn)
    pool = {"target": "0.15", "basis": "POST_MONEY"}
    result = await gql(world.actor("startup_owner"), PRO_FORMA, {"money": "5000000", "pre": "20000000", "pool": pool})
    assert "errors" not in result, result
    round_ = result["data"]["proFormaRound"]
    shares = {(r["stakeholderId"], r["sourceId"], r["kind"]): D(r["shares"]) for r in round_["rows"]}
    assert sum(shares.values()) == D(round_["postMoneyFullyDiluted"])
    # the existing 2,000,000-share pool is unallocated; the top-up brings it to 15 % of the post-money count
    pool_after = shares[(None, "UNALLOCATED_POOL", "POOL")]
    assert abs(pool_after / D(round_["postMoneyFullyDiluted"]) - D("0.15")) < D("1e-6")
    assert D(round_["pricePerShare"]) == (D(20_000_000) / D(round_["preMoneyFullyDiluted"])).quantize(D("1e-18"))
    assert D(round_["postMoney"]) == 25_000_000
    assert counts(owner_conn) == before


async def test_granted_vc_runs_both_and_the_reads_are_audited(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record, owner_conn: psycopg.Connection
) -> None:
    await _seed(world, seed_cap_table, record)
    company = gid("Tenant", world.tenants["startup"])
    vc = world.actor("vc_active")
    audited = _audits(owner_conn, world, "captable")

    waterfall = await gql(vc, WATERFALL, {"exit": "50000000", "company": company})
    assert "errors" not in waterfall, waterfall
    assert waterfall["data"]["exitWaterfall"]["companyId"] == company
    round_ = await gql(vc, PRO_FORMA, {"money": "1000000", "price": "2", "company": company})
    assert "errors" not in round_, round_
    assert round_["data"]["proFormaRound"]["investorShares"] == "500000"
    assert _audits(owner_conn, world, "captable") == audited + 2


async def test_vcs_without_the_grant_are_refused_and_nothing_is_written(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record, owner_conn: psycopg.Connection
) -> None:
    await _seed(world, seed_cap_table, record)
    company = gid("Tenant", world.tenants["startup"])
    before, audited = counts(owner_conn), _audits(owner_conn, world, "captable")
    for name in ("vc_lacking_scope", "vc_requested", "vc_revoked", "vc_expired", "other_startup_owner"):
        for query, variables in (
            (WATERFALL, {"exit": "50000000", "company": company}),
            (PRO_FORMA, {"money": "1000000", "pre": "9000000", "company": company}),
        ):
            refused = await gql(world.actor(name), query, variables)
            assert list(refused["data"].values()) == [None], (name, refused)
            assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", (name, refused)
    assert counts(owner_conn) == before
    assert _audits(owner_conn, world, "captable") == audited


async def test_bad_arguments_name_the_field(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record, owner_conn: psycopg.Connection
) -> None:
    await _seed(world, seed_cap_table, record)
    owner = world.actor("startup_owner")
    before = counts(owner_conn)
    cases = [
        (WATERFALL, {"exit": "-1"}, "exitValue"),
        (WATERFALL, {"exit": "100.001"}, "exitValue"),  # USD has cents, not mills
        (WATERFALL, {"exit": "1", "assumptions": {"cashOutMultiple": "-2"}}, "assumptions.cashOutMultiple"),
        (PRO_FORMA, {"money": "0", "pre": "1"}, "newMoney"),
        (PRO_FORMA, {"money": "1"}, "preMoney"),
        (PRO_FORMA, {"money": "1", "pre": "1", "price": "1"}, "preMoney"),
        (PRO_FORMA, {"money": "1", "price": "-1"}, "pricePerShare"),
        (PRO_FORMA, {"money": "1", "pre": "10", "pool": {"target": "1.5"}}, "poolTopUp.target"),
        (PRO_FORMA, {"money": "1", "pre": "10", "pool": {"target": "0.1", "shares": "5"}}, "poolTopUp"),
    ]
    for query, variables, field in cases:
        result = await gql(owner, query, variables)
        (error,) = result["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, result)
        assert error["extensions"]["field"] == field, (variables, result)
    unbounded = await gql(owner, WATERFALL, {"exit": "1e400"})  # the Decimal scalar refuses it before any resolver
    assert unbounded["errors"]
    assert unbounded["data"] is None
    assert counts(owner_conn) == before


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "set_config" not in statement:
            seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)


async def _second_company(gql: GraphQL, world: World, record: Record, owner_conn: psycopg.Connection) -> None:
    """other_startup grants vc_active `captable` and links its 10 % holder `seed-fund` to it."""
    owner_conn.execute(
        "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, scopes, status)"
        " values (%s, %s, %s, %s, 'active')",
        (world.tenants["other_startup"], world.tenants["vc_active"], ["captable"], ["captable"]),
    )
    owner = world.actor("other_startup_owner")
    items = [
        stakeholder("founder", "Founder"),
        stakeholder("seed-fund", "Seed Fund"),
        stock_class("common", "Common", "COMMON", "20000000"),
        issue("i-founder", "cs-founder", "founder", "9000000", "2024-02-01"),
        issue("i-seed", "cs-seed", "seed-fund", "1000000", "2024-02-01", price="0.50"),
    ]
    assert (await record(owner, items))["__typename"] == "LedgerWritten"
    linked = await gql(
        owner,
        'mutation($vc: String!) { linkStakeholderToInvestor(stakeholderId: "seed-fund", vcSlug: $vc) { __typename } }',
        {"vc": world.slugs["vc_active"]},
    )
    assert linked["data"]["linkStakeholderToInvestor"]["__typename"] == "StakeholderLink", linked


async def test_what_do_we_get_at_a_50m_exit_across_the_portfolio_in_one_query(
    gql: GraphQL,
    world: World,
    seed_cap_table: SeedCapTable,
    record: Record,
    owner_conn: psycopg.Connection,
    database: Database,
) -> None:
    await _seed(world, seed_cap_table, record)
    vc = world.actor("vc_active")
    with _statements(database) as one_company:
        single = await gql(vc, PAYOUTS, {"values": ["50000000"]})
    assert "errors" not in single, single
    await _second_company(gql, world, record, owner_conn)
    audited = _audits(owner_conn, world, "payouts")

    with _statements(database) as two_companies:
        result = await gql(vc, PAYOUTS, {"values": ["5000000", "50000000"]})

    assert "errors" not in result, result
    by_company = {e["company"]["slug"]: e["payouts"] for e in result["data"]["portfolio"]}
    assert [(D(p["exitValue"]), D(p["amount"]), p["currency"]) for p in by_company[world.slugs["startup"]]] == [
        (5_000_000, 2_600_000, "USD"),
        (50_000_000, D("13636363.63"), "USD"),
    ]
    assert [(D(p["exitValue"]), D(p["amount"])) for p in by_company[world.slugs["other_startup"]]] == [
        (5_000_000, 500_000),
        (50_000_000, 5_000_000),
    ]
    assert len(two_companies) == len(one_company)  # batched: no statement per company
    assert _audits(owner_conn, world, "payouts") == audited + 1


async def test_payouts_refuse_too_many_or_no_exit_values(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, record: Record
) -> None:
    await _seed(world, seed_cap_table, record)
    for values in ([], [str(n) for n in range(21)], ["-5"]):
        result = await gql(world.actor("vc_active"), PAYOUTS, {"values": values})
        assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", values
        assert result["errors"][0]["extensions"]["field"] == "exitValues"
