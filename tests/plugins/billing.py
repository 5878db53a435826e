"""Billing fixtures: cost rows imported into the test's store for accounts of the world's startups, and a
plan, tax and a fee set up through GraphQL as the world's billing admin. `expected_total` recomputes an
invoice from the raw CSV rows without the engine."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cost import CostStore, import_file
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

PERIOD = "2026-10"
SERVICES = ("Amazon Elastic Compute Cloud", "Amazon Simple Storage Service", "Amazon Relational Database Service")
MARKUP = Decimal(10)
TAX = Decimal("8.5")
FEE = Decimal("25.00")

CREATE_PLAN = """
mutation($name: String!, $from: String!, $rules: [PricingRuleInput!]!) {
  createPricingPlan(name: $name, validFrom: $from, rules: $rules) {
    __typename ... on PricingPlan { id versions { id version } } ... on Problem { message }
  }
}"""
ASSIGN_PLAN = """
mutation($tenant: String!, $plan: ID!) {
  assignPricingPlan(tenantSlug: $tenant, planId: $plan) { __typename ... on Problem { message } }
}"""
SET_BILLING = """
mutation($tenant: String!, $settings: CustomerBillingInput!) {
  setCustomerBilling(tenantSlug: $tenant, settings: $settings) { __typename ... on Problem { message } }
}"""
ADD_ITEM = """
mutation($tenant: String!, $value: Decimal!, $period: String!) {
  addCustomLineItem(tenantSlug: $tenant, description: "Managed service fee", kind: FEE, amountType: FLAT,
                    value: $value, period: $period) { __typename ... on Problem { message } }
}"""


@dataclass
class Seeded:
    period: str
    accounts: dict[str, list[str]]  # world tenant key → account ids
    rows: list[dict[str, str]] = field(default_factory=list)
    csv: Path | None = None

    def expected_total(
        self, tenant: str, *, markup: Decimal = MARKUP, tax: Decimal = TAX, fee: Decimal = FEE
    ) -> Decimal:
        """Rate every raw row (markup on its cost), one rounding per service line, plus the fee and the tax."""
        mine = set(self.accounts[tenant])
        per_service: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.rows:
            if row["lineItem/UsageAccountId"] in mine:
                per_service[row["product/ProductName"]] += Decimal(row["lineItem/UnblendedCost"]) * (100 + markup) / 100
        cent = Decimal("0.01")
        subtotal = sum((v.quantize(cent, ROUND_HALF_UP) for v in per_service.values()), Decimal(0)) + fee
        return subtotal + (subtotal * tax / 100).quantize(cent, ROUND_HALF_UP)


def cost_rows(accounts: Sequence[str], period: str, per_account: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    year, month = period.split("-")
    rows = []
    for account in accounts:
        for i in range(per_account):
            day, hour = 1 + i % 28, i % 24
            start = f"{year}-{month}-{day:02d}T{hour:02d}:00:00Z"
            end = f"{year}-{month}-{day:02d}T{hour:02d}:59:59Z"
            rows.append(
                {
                    "bill/BillingPeriodStartDate": f"{year}-{month}-01T00:00:00.000Z",
                    "lineItem/UsageAccountId": account,
                    "lineItem/UsageStartDate": start,
                    "lineItem/UsageEndDate": end,
                    "product/ProductName": SERVICES[i % len(SERVICES)],
                    "lineItem/ProductCode": "Amazon",
                    "lineItem/UnblendedCost": str(Decimal(rng.randrange(1, 10**9)).scaleb(-rng.choice((6, 8, 10)))),
                    "lineItem/UsageAmount": "1",
                    "pricing/unit": "Hrs",
                }
            )
    return rows


SeedCosts = Callable[..., Seeded]
SetUpBilling = Callable[..., Coroutine[Any, Any, str]]


@pytest.fixture
def seed_costs(world: World, owner_conn: psycopg.Connection, cost_store: CostStore, tmp_path: Path) -> SeedCosts:
    """Import rows for fresh accounts of the given world tenants and assign the accounts to them."""

    def seed(
        tenants: Sequence[str] = ("startup", "other_startup"),
        *,
        period: str = PERIOD,
        accounts: int = 2,
        per_account: int = 30,
        store: CostStore | None = None,
        of: World | None = None,
    ) -> Seeded:
        """`of`: another world than the test's (its operator's store, its tenants' accounts)."""
        target = of or world
        rng = random.Random()
        chosen = {t: [str(rng.randrange(10**11, 10**12)) for _ in range(accounts)] for t in tenants}
        rows = cost_rows([a for ids in chosen.values() for a in ids], period, per_account, rng.randrange(1 << 30))
        path = write_legacy_csv(tmp_path / f"cur-{rng.randrange(1 << 30)}.csv", rows)
        import_file(str(path), store or cost_store.for_operator(target.tenants["operator"]))
        with owner_conn.transaction():
            for tenant, ids in chosen.items():
                for account in ids:
                    owner_conn.execute(
                        "insert into cloud_accounts (tenant_id, account_id, name) values (%s, %s, %s)",
                        (target.tenants[tenant], account, f"acct {account}"),
                    )
        return Seeded(period=period, accounts=chosen, rows=rows, csv=path)

    return seed


async def set_up_billing(
    gql: GraphQL,
    world: World,
    tenants: Sequence[str] = ("startup", "other_startup"),
    *,
    period: str = PERIOD,
    fee: Decimal | None = FEE,
) -> str:
    """A plan (10 % markup on cost) assigned to `tenants`, 8.5 % tax, a flat fee; returns the plan id."""
    admin = world.actor("billing_admin")
    rules = [{"scope": "GLOBAL", "adjustment": "MARKUP", "percent": str(MARKUP)}]
    created = await gql(admin, CREATE_PLAN, {"name": f"Standard {world.suffix}", "from": "2026-01", "rules": rules})
    assert "errors" not in created, created
    plan = created["data"]["createPricingPlan"]
    assert plan["__typename"] == "PricingPlan", plan
    for tenant in tenants:
        slug = world.slugs[tenant]
        for document, variables in (
            (ASSIGN_PLAN, {"tenant": slug, "plan": plan["id"]}),
            (
                SET_BILLING,
                {
                    "tenant": slug,
                    "settings": {
                        "taxRatePercent": str(TAX),
                        "taxName": "Consumption tax",
                        "legalName": f"{tenant} K.K.",
                        "address": "1-1 Chiyoda",
                    },
                },
            ),
            *(((ADD_ITEM, {"tenant": slug, "value": str(fee), "period": period}),) if fee is not None else ()),
        ):
            result = await gql(admin, document, variables)
            assert "errors" not in result, result
            (only,) = result["data"].values()
            assert only["__typename"] not in ("NotAllowed", "NotFound", "InvalidInput"), only
    return str(plan["id"])
