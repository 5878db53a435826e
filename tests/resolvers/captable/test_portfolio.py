"""The VC's portfolio and funds through GraphQL: only granted companies, the linked holding, audited reads."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from tests.plugins.captable import SeedCapTable, counts
from tests.plugins.graphql import GraphQL, gid
from tests.plugins.world import World

PORTFOLIO = """
query($asOf: Date) { portfolio(asOf: $asOf) {
  companyId company { slug } asOf stakeholderIds ownership fullyDilutedOwnership
  invested { amount currency } latestPricePerShare { amount currency } holdingValue { amount }
  moic { value undefinedReason }
} }
"""


async def test_portfolio_shows_the_linked_holding_of_granting_companies(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, owner_conn: psycopg.Connection
) -> None:
    await seed_cap_table(world)
    vc = world.actor("vc_active")

    for as_of in (None, "2024-12-31"):
        result = await gql(vc, PORTFOLIO, {"asOf": as_of})
        assert "errors" not in result, result
        (entry,) = result["data"]["portfolio"]
        assert entry["company"] == {"slug": world.slugs["startup"]}
        assert entry["companyId"] == gid("Tenant", world.tenants["startup"])
        assert entry["stakeholderIds"] == ["fund"]
        assert Decimal(entry["ownership"]) == Decimal("0.2")
        assert Decimal(entry["fullyDilutedOwnership"]).quantize(Decimal("1e-6")) == Decimal("0.166667")
        assert entry["invested"] == {"amount": "2000000.00", "currency": "USD"}
        assert Decimal(entry["latestPricePerShare"]["amount"]) == 1
        assert Decimal(entry["holdingValue"]["amount"]) == 2_000_000
        assert Decimal(entry["moic"]["value"]) == 1
    audited = owner_conn.execute(
        "select count(*) from audit_events where tenant_id = %s and action = 'grant.read' and subject_id = 'portfolio'",
        (world.tenants["startup"],),
    ).fetchone()
    assert audited == (2,)


async def test_portfolio_is_empty_without_an_active_captable_grant(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable
) -> None:
    await seed_cap_table(world)
    for name in ("vc_lacking_scope", "vc_requested", "vc_revoked", "vc_expired"):
        result = await gql(world.actor(name), PORTFOLIO, {"asOf": None})
        assert result["data"] == {"portfolio": []}, name
    refused = await gql(world.actor("startup_owner"), PORTFOLIO)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_granted_vc_reads_the_cap_table_but_others_do_not(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable
) -> None:
    await seed_cap_table(world)
    query = "query($c: ID!) { capTable(company: $c) { outstandingShares } }"
    company = gid("Tenant", world.tenants["startup"])
    granted = await gql(world.actor("vc_active"), query, {"c": company})
    assert granted["data"]["capTable"]["outstandingShares"] == "10000000"
    for name in ("vc_lacking_scope", "vc_revoked", "vc_expired", "other_startup_owner", "billing_admin"):
        refused = await gql(world.actor(name), query, {"c": company})
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", name


FUND = """
mutation($name: String!) { createFund(name: $name, currency: "USD", vintageYear: 2024) {
  __typename ... on Fund { id } ... on Problem { message } } }
"""


async def test_fund_metrics_from_calls_distributions_and_holdings(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, owner_conn: psycopg.Connection
) -> None:
    await seed_cap_table(world)
    vc = world.actor("vc_active")
    created = await gql(vc, FUND, {"name": "Fund I"})
    fund_id = created["data"]["createFund"]["id"]
    company = gid("Tenant", world.tenants["startup"])
    steps = [
        (
            'addFundCommitment(fundId: $f, limitedPartner: "LP", amount: "3000000", committedOn: "2023-12-01")',
            "FundFlow",
        ),
        ('recordCapitalCall(fundId: $f, amount: "2000000", callDate: "2024-06-01")', "FundFlow"),
        ('recordDistribution(fundId: $f, amount: "500000", distributionDate: "2025-06-01")', "FundFlow"),
        (
            f'addFundInvestment(fundId: $f, companyId: "{company}", stakeholderId: "fund")',
            "FundInvestment",
        ),
    ]
    for field, typename in steps:
        result = await gql(vc, f"mutation($f: ID!) {{ {field} {{ __typename }} }}", {"f": fund_id})
        assert next(iter(result["data"].values()))["__typename"] == typename, result

    result = await gql(
        vc,
        "query($f: ID!) { fund(id: $f) { name tvpi { value } dpi { value } rvpi { value } "
        "irr { value undefinedReason } performance { paidIn distributed nav } investments { stakeholderId } } }",
        {"f": fund_id},
    )

    assert "errors" not in result, result
    fund = result["data"]["fund"]
    assert Decimal(fund["performance"]["nav"]) == 2_000_000  # 2,000,000 Series A shares at $1.00
    assert Decimal(fund["tvpi"]["value"]) == Decimal("1.25")
    assert Decimal(fund["dpi"]["value"]) == Decimal("0.25")
    assert Decimal(fund["rvpi"]["value"]) == 1
    assert Decimal(fund["irr"]["value"]) > 0

    before = counts(owner_conn)
    for name in ("vc_lacking_scope", "startup_owner"):
        other = await gql(world.actor(name), "query($f: ID!) { fund(id: $f) { name } }", {"f": fund_id})
        assert other["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN"), name
        refused = await gql(
            world.actor(name), f"mutation($f: ID!) {{ {steps[1][0]} {{ __typename }} }}", {"f": fund_id}
        )
        assert refused["data"]["recordCapitalCall"]["__typename"] in ("NotFound", "NotAllowed"), name
    assert counts(owner_conn) == before


PORTFOLIO_KPIS = """
query { portfolio { company { slug } latestKpis { key value periodStart } } }
"""


async def test_portfolio_carries_each_companys_latest_finalized_kpis_in_one_statement(
    gql: GraphQL, world: World, seed_cap_table: SeedCapTable, owner_conn: psycopg.Connection
) -> None:
    from tests.plugins.financials import seed_financials

    await seed_cap_table(world)
    seed_financials(owner_conn, world)  # January final (arr 12,000,000, headcount 12), February a draft
    vc = world.actor("vc_active")
    audited_before = owner_conn.execute(
        "select count(*) from audit_events where tenant_id = %s and subject_id = 'kpi_values'",
        (world.tenants["startup"],),
    ).fetchone()

    result = await gql(vc, PORTFOLIO_KPIS)

    assert "errors" not in result, result
    (entry,) = result["data"]["portfolio"]
    assert sorted((k["key"], Decimal(k["value"]), k["periodStart"]) for k in entry["latestKpis"]) == [
        ("arr", Decimal(12_000_000), "2024-01-01"),
        ("headcount", Decimal(12), "2024-01-01"),
    ]
    audited_after = owner_conn.execute(
        "select count(*) from audit_events where tenant_id = %s and subject_id = 'kpi_values'",
        (world.tenants["startup"],),
    ).fetchone()
    assert audited_after[0] == audited_before[0] + 1  # type: ignore[index]
    without = await gql(vc, PORTFOLIO)  # not selected: no KPI read, nothing audited
    assert "errors" not in without
    assert (
        owner_conn.execute(
            "select count(*) from audit_events where tenant_id = %s and subject_id = 'kpi_values'",
            (world.tenants["startup"],),
        ).fetchone()
        == audited_after
    )
