"""Cloud cost per company inside the VC portfolio: the same figures as costs(company:), null without `costs`."""

from decimal import Decimal

import psycopg

from tests.plugins.billing import PERIOD, SeedCosts
from tests.plugins.captable import SeedCapTable
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

PORTFOLIO = """
query($period: String!) { portfolio { company { slug }
  costs(period: $period, groupBy: [ACCOUNT], metrics: [BILLED]) { account currency billed } } }
"""
DIRECT = """
query($period: String!, $company: String!) {
  costs(period: $period, groupBy: [ACCOUNT], metrics: [BILLED], company: $company) { account currency billed }
}"""


async def test_portfolio_costs_match_the_company_query_and_need_the_costs_scope(
    cost_gql: GraphQL,
    world: World,
    seed_cap_table: SeedCapTable,
    seed_costs: SeedCosts,
    owner_conn: psycopg.Connection,
) -> None:
    await seed_cap_table(world)
    seeded = seed_costs(("startup", "other_startup"), accounts=2)
    vc = world.actor("vc_active")

    result = await cost_gql(vc, PORTFOLIO, {"period": PERIOD})
    direct = await cost_gql(vc, DIRECT, {"period": PERIOD, "company": world.slugs["startup"]})

    assert "errors" not in result, result
    (entry,) = result["data"]["portfolio"]
    assert entry["costs"] == direct["data"]["costs"]
    assert {row["account"] for row in entry["costs"]} == set(seeded.accounts["startup"])
    expected = sum(
        (
            Decimal(r["lineItem/UnblendedCost"])
            for r in seeded.rows
            if r["lineItem/UsageAccountId"] in seeded.accounts["startup"]
        ),
        Decimal(0),
    )
    assert sum(Decimal(row["billed"]) for row in entry["costs"]) == expected

    owner_conn.execute("update portfolio_grants set scopes = '{captable}' where id = %s", (world.grants["vc_active"],))
    narrowed = await cost_gql(vc, PORTFOLIO, {"period": PERIOD})
    assert "errors" not in narrowed, narrowed
    assert narrowed["data"]["portfolio"][0]["costs"] is None
