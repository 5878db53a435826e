"""Value rules for the cap table, funds, rates and fees: the API refuses each bad value with a typed error
naming the field, nothing is stored, and the database refuses the same values from raw SQL as the app role."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.plugins.graphql import GraphQL
from tests.plugins.world import World, acting_as

CREATE_CLASS = """
mutation($input: CreateStockClassInput!) {
  createStockClass(input: $input) {
    __typename ... on LedgerRejected { problems { objectId field reason } } ... on InvalidInput { field message }
  }
}
"""
ISSUE = """
mutation($holder: CreateStakeholderInput!, $class: CreateStockClassInput!, $issue: IssueStockInput!) {
  a: createStakeholder(input: $holder) { __typename }
  b: createStockClass(input: $class) { __typename }
  c: issueStock(input: $issue) { __typename ... on LedgerRejected { problems { objectId field reason } } }
}
"""
RECORD_CALL = """
mutation($fund: ID!, $amount: Decimal!) {
  recordCapitalCall(fundId: $fund, amount: $amount, callDate: "2024-01-01") {
    __typename ... on InvalidInput { field message }
  }
}
"""
CUSTOM_ITEM = """
mutation($tenant: String!, $value: Decimal!) {
  addCustomLineItem(tenantSlug: $tenant, description: "fee", kind: FEE, amountType: PERCENT, value: $value,
                    period: "2024-01") { __typename ... on InvalidInput { field message } }
}
"""
RATE = """
mutation($rate: Decimal!) {
  setExchangeRate(period: "2024-01", currency: "JPY", rate: $rate) { __typename ... on InvalidInput { field message } }
}
"""
UNBOUNDED = ["1e400", "NaN", "Infinity", "-Infinity", "0.0000000000000000001", "123456789012345678901", "1e30"]


def _count(conn: psycopg.Connection, table: str, tenant: Any) -> int:
    row = conn.execute(f"select count(*) from {table} where tenant_id = %s", (tenant,)).fetchone()
    assert row is not None
    return int(row[0])


def _stock_class(authorized: str) -> dict[str, Any]:
    return {"id": "common", "name": "Common", "classType": "COMMON", "authorizedShares": authorized}


async def test_negative_authorized_shares_are_rejected_naming_the_field(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    before = _count(owner_conn, "captable_objects", world.tenants["startup"])
    result = await gql(world.actor("startup_owner"), CREATE_CLASS, {"input": _stock_class("-5")})
    assert "errors" not in result, result
    outcome = result["data"]["createStockClass"]
    assert outcome["__typename"] == "LedgerRejected"
    assert [(p["objectId"], p["field"]) for p in outcome["problems"]] == [("common", "initial_shares_authorized")]
    assert "must not be negative" in outcome["problems"][0]["reason"]
    assert _count(owner_conn, "captable_objects", world.tenants["startup"]) == before


async def test_an_issuance_of_zero_shares_is_rejected(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    variables = {
        "holder": {"id": "carol", "name": "Carol", "stakeholderType": "INDIVIDUAL"},
        "class": _stock_class("1000"),
        "issue": {
            "id": "i1",
            "date": "2024-01-01",
            "securityId": "cs1",
            "stakeholderId": "carol",
            "stockClassId": "common",
            "quantity": "0",
            "sharePrice": {"amount": "0.01", "currency": "USD"},
        },
    }
    result = await gql(world.actor("startup_owner"), ISSUE, variables)
    assert "errors" not in result, result
    rejected = result["data"]["c"]
    assert rejected["__typename"] == "LedgerRejected"
    assert [(p["objectId"], p["field"]) for p in rejected["problems"]] == [("i1", "quantity")]
    kinds = owner_conn.execute(
        "select object_type from captable_objects where tenant_id = %s order by seq", (world.tenants["startup"],)
    ).fetchall()
    assert "TX_STOCK_ISSUANCE" not in [k for (k,) in kinds]  # the stakeholder and class were, the issuance not


@pytest.mark.parametrize("value", UNBOUNDED)
async def test_unbounded_numbers_are_bad_input_naming_the_argument(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection, value: str
) -> None:
    before = _count(owner_conn, "captable_objects", world.tenants["startup"])
    result = await gql(world.actor("startup_owner"), CREATE_CLASS, {"input": _stock_class(value)})
    assert result["data"] is None
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "authorizedShares" in error["message"]
    assert _count(owner_conn, "captable_objects", world.tenants["startup"]) == before


@pytest.mark.parametrize("value", ["1e400", "NaN", "0.0000000000000000001", "1e30"])
async def test_fund_amounts_and_rates_and_fees_refuse_unbounded_numbers(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection, value: str
) -> None:
    fund = owner_conn.execute(
        "insert into funds (tenant_id, name, currency) values (%s, 'Fund I', 'USD') returning id",
        (world.tenants["vc_active"],),
    ).fetchone()
    assert fund is not None
    call = await gql(world.actor("vc_active"), RECORD_CALL, {"fund": str(fund[0]), "amount": value})
    fee = await gql(world.actor("billing_admin"), CUSTOM_ITEM, {"tenant": world.slugs["startup"], "value": value})
    rate = await gql(world.actor("billing_admin"), RATE, {"rate": value})
    for result, argument in ((call, "$amount"), (fee, "$value"), (rate, "$rate")):
        assert result["data"] is None, result
        assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]
        assert argument in result["errors"][0]["message"]
    assert _count(owner_conn, "capital_calls", world.tenants["vc_active"]) == 0
    assert _count(owner_conn, "custom_line_items", world.tenants["startup"]) == 0
    assert _count(owner_conn, "exchange_rates", world.tenants["operator"]) == 0


@pytest.mark.parametrize(
    ("document", "value", "field"),
    [
        (CUSTOM_ITEM, "5000", "value"),
        (RATE, "-1", "rate"),
        (RATE, "0", "rate"),
    ],
)
async def test_out_of_range_fees_and_rates_are_invalid_input(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection, document: str, value: str, field: str
) -> None:
    result = await gql(
        world.actor("billing_admin"), document, {"tenant": world.slugs["startup"], "rate": value, "value": value}
    )
    assert "errors" not in result, result
    (outcome,) = result["data"].values()
    assert outcome == {"__typename": "InvalidInput", "field": field, "message": outcome["message"]}
    assert _count(owner_conn, "custom_line_items", world.tenants["startup"]) == 0
    assert _count(owner_conn, "exchange_rates", world.tenants["operator"]) == 0


# -- the database refuses the same values from raw SQL, as the app role under a valid context ------------------


def _ocf(object_type: str, oid: str, **fields: Any) -> str:
    return json.dumps({"object_type": object_type, "id": oid, **fields})


@pytest.mark.parametrize(
    ("object_type", "payload"),
    [
        ("STOCK_CLASS", {"name": "C", "class_type": "COMMON", "initial_shares_authorized": "-5"}),
        ("STOCK_CLASS", {"name": "C", "class_type": "COMMON", "initial_shares_authorized": "NaN"}),
        ("TX_STOCK_ISSUANCE", {"quantity": "0", "security_id": "s", "stakeholder_id": "x", "stock_class_id": "c"}),
        ("TX_STOCK_ISSUANCE", {"quantity": "1e400", "security_id": "s", "stakeholder_id": "x", "stock_class_id": "c"}),
        ("TX_STOCK_TRANSFER", {"quantity": "-1", "security_id": "s"}),
        ("TX_STOCK_PLAN_POOL_ADJUSTMENT", {"shares_reserved": "-10", "stock_plan_id": "p"}),
        ("TX_STOCK_ISSUANCE", {"quantity": "1", "share_price": {"amount": "0.0000000000000000001", "currency": "USD"}}),
    ],
)
def test_the_database_refuses_bad_ledger_values(
    app_conn: psycopg.Connection, world: World, owner_conn: psycopg.Connection, object_type: str, payload: Any
) -> None:
    before = _count(owner_conn, "captable_objects", world.tenants["startup"])
    with acting_as(app_conn, world.actor("startup_owner")) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "insert into captable_objects (tenant_id, id, object_type, payload) values (%s, 'x1', %s, %s)",
            (world.tenants["startup"], object_type, _ocf(object_type, "x1", **payload)),
        )
    assert _count(owner_conn, "captable_objects", world.tenants["startup"]) == before


def test_the_database_accepts_a_good_ledger_value(app_conn: psycopg.Connection, world: World) -> None:
    with acting_as(app_conn, world.actor("startup_owner")) as conn:
        payload = _ocf("STOCK_CLASS", "ok1", name="C", class_type="COMMON", initial_shares_authorized="1000")
        conn.execute(
            "insert into captable_objects (tenant_id, id, object_type, payload) values (%s, 'ok1', 'STOCK_CLASS', %s)",
            (world.tenants["startup"], payload),
        )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400", "0.0000000000000000001"])
def test_the_database_refuses_unbounded_fund_amounts(
    app_conn: psycopg.Connection, world: World, owner_conn: psycopg.Connection, value: str
) -> None:
    fund = owner_conn.execute(
        "insert into funds (tenant_id, name, currency) values (%s, 'Fund I', 'USD') returning id",
        (world.tenants["vc_active"],),
    ).fetchone()
    assert fund is not None
    with acting_as(app_conn, world.actor("vc_active")) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "insert into capital_calls (tenant_id, fund_id, call_date, amount) values (%s, %s, '2024-01-01', %s)",
            (world.tenants["vc_active"], fund[0], value),
        )
    assert _count(owner_conn, "capital_calls", world.tenants["vc_active"]) == 0


@pytest.mark.parametrize(
    ("statement", "value"),
    [
        (
            "insert into exchange_rates (tenant_id, period, currency, rate) values (%(t)s, '2024-01', 'JPY', %(v)s)",
            "NaN",
        ),
        (
            "insert into exchange_rates (tenant_id, period, currency, rate) values (%(t)s, '2024-01', 'JPY', %(v)s)",
            "-1",
        ),
        (
            "insert into custom_line_items (tenant_id, operator_id, description, kind, amount_type, value, period)"
            " values (%(c)s, %(t)s, 'fee', 'FEE', 'PERCENT', %(v)s, '2024-01')",
            "1e30",
        ),
        (
            "insert into custom_line_items (tenant_id, operator_id, description, kind, amount_type, value, period)"
            " values (%(c)s, %(t)s, 'fee', 'FEE', 'FLAT', %(v)s, '2024-01')",
            "NaN",
        ),
        ("insert into customer_billing (tenant_id, operator_id, tax_rate_percent) values (%(c)s, %(t)s, %(v)s)", "NaN"),
    ],
)
def test_the_database_refuses_bad_rates_and_fees(
    app_conn: psycopg.Connection, world: World, owner_conn: psycopg.Connection, statement: str, value: str
) -> None:
    params = {"t": world.tenants["operator"], "c": world.tenants["startup"], "v": value}
    with acting_as(app_conn, world.actor("billing_admin")) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(statement, params)
    assert _count(owner_conn, "exchange_rates", world.tenants["operator"]) == 0
    assert _count(owner_conn, "custom_line_items", world.tenants["startup"]) == 0
