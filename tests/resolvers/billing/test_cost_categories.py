"""costs(groupBy: [CATEGORY]): a billing admin's named category set allocates a period's cost exactly."""

from decimal import Decimal
from typing import Any

from tests.plugins.billing import PERIOD, SeedCosts
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

SET = """
mutation($name: String!, $definition: JSON!) {
  setCostCategories(name: $name, definition: $definition) { __typename ... on Problem { message } }
}"""
BY_CATEGORY = """
query($set: String, $period: String!, $groupBy: [CostGroupBy!]!) {
  costs(groupBy: $groupBy, categorySet: $set, metrics: [BILLED], period: $period) { category currency billed }
}"""


def _sum(rows: list[dict[str, str]], accounts: set[str]) -> Decimal:
    return sum(
        (Decimal(r["lineItem/UnblendedCost"]) for r in rows if r["lineItem/UsageAccountId"] in accounts), Decimal(0)
    )


async def test_categories_split_shared_cost_and_sum_to_the_total(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts
) -> None:
    seeded = seed_costs(("startup", "other_startup"), accounts=2)
    startup, (shared, platform) = set(seeded.accounts["startup"]), seeded.accounts["other_startup"]
    admin = world.actor("billing_admin")
    definition: dict[str, Any] = {
        "rules": [
            {"type": "category", "category": "Product", "match": {"accounts": sorted(startup)}},
            {
                "type": "shared",
                "name": "shared",
                "targets": ["Product", "Platform"],
                "method": "EVEN",
                "match": {"accounts": [shared]},
            },
        ],
        "default": "Platform",
    }
    saved = await cost_gql(admin, SET, {"name": "teams", "definition": definition})
    assert saved["data"]["setCostCategories"]["__typename"] == "CostCategorySet", saved

    result = await cost_gql(admin, BY_CATEGORY, {"set": "teams", "period": PERIOD, "groupBy": ["CATEGORY"]})

    assert "errors" not in result, result
    billed = {row["category"]: Decimal(row["billed"]) for row in result["data"]["costs"]}
    assert set(billed) == {"Product", "Platform"}
    direct_product, pool, direct_platform = (
        _sum(seeded.rows, startup),
        _sum(seeded.rows, {shared}),
        _sum(seeded.rows, {platform}),
    )
    assert billed["Product"] + billed["Platform"] == direct_product + pool + direct_platform
    assert abs(billed["Product"] - direct_product - pool / 2) <= Decimal("1e-18")
    assert abs(billed["Platform"] - direct_platform - pool / 2) <= Decimal("1e-18")


async def test_categories_are_for_billing_admins_and_need_a_set(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts
) -> None:
    seed_costs(("startup",), accounts=1)
    founder = world.actor("startup_owner")
    refused = await cost_gql(founder, BY_CATEGORY, {"set": "teams", "period": PERIOD, "groupBy": ["CATEGORY"]})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = world.actor("billing_admin")
    missing = await cost_gql(admin, BY_CATEGORY, {"set": None, "period": PERIOD, "groupBy": ["CATEGORY"]})
    assert missing["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "categorySet"}
    unknown = await cost_gql(admin, BY_CATEGORY, {"set": "nope", "period": PERIOD, "groupBy": ["CATEGORY"]})
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
