"""Demo data that goes through the API: Kitsune's cap table, written by its founder as GraphQL mutations,
so the demo VC's `portfolio` has something to show. The tenants and users come from `db.demo`."""

from __future__ import annotations

import uuid
from typing import Any

from db.session import Database
from resolvers.common.principals import Member
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings

RECORD = """
mutation($events: [JSON!]!) { recordCapTableEvents(events: $events) { __typename ... on Problem { message } } }
"""
LINK = """
mutation($stakeholder: String!, $vc: String!) {
  linkStakeholderToInvestor(stakeholderId: $stakeholder, vcSlug: $vc) { __typename ... on Problem { message } }
}
"""


def _usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def _issuance(
    event: str, security: str, holder: str, quantity: str, when: str, stock_class: str, price: str
) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_ISSUANCE",
        "id": event,
        "date": when,
        "security_id": security,
        "custom_id": security,
        "stakeholder_id": holder,
        "security_law_exemptions": [],
        "stock_class_id": stock_class,
        "share_price": _usd(price),
        "quantity": quantity,
        "stock_legend_ids": [],
    }


# Long on purpose: the demo's ledger is data, written out as the OCF objects it records.
def kitsune_ledger() -> list[dict[str, Any]]:
    """Two founders, an option pool with two grants, and a Series A led by Sakura Ventures."""
    people = [
        ("kenji", "Kenji Founder"),
        ("aiko", "Aiko Cofounder"),
        ("kai", "Kai Engineer"),
        ("sakura", "Sakura Ventures Fund I"),
    ]
    return [
        {
            "object_type": "STOCK_CLASS",
            "id": "common",
            "name": "Common",
            "class_type": "COMMON",
            "default_id_prefix": "CS-",
            "initial_shares_authorized": "20000000",
            "votes_per_share": "1",
            "seniority": "1",
        },
        {
            "object_type": "STOCK_CLASS",
            "id": "series-a",
            "name": "Series A Preferred",
            "class_type": "PREFERRED",
            "default_id_prefix": "PA-",
            "initial_shares_authorized": "5000000",
            "votes_per_share": "1",
            "seniority": "2",
        },
        {
            "object_type": "STOCK_PLAN",
            "id": "esop",
            "plan_name": "2021 Stock Option Plan",
            "initial_shares_reserved": "1500000",
            "stock_class_ids": ["common"],
        },
        *(
            {
                "object_type": "STAKEHOLDER",
                "id": key,
                "name": {"legal_name": name},
                "stakeholder_type": "INSTITUTION" if key == "sakura" else "INDIVIDUAL",
            }
            for key, name in people
        ),
        _issuance("founders-1", "CS-1", "kenji", "6000000", "2021-04-01", "common", "0.0001"),
        _issuance("founders-2", "CS-2", "aiko", "4000000", "2021-04-01", "common", "0.0001"),
        {
            "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
            "id": "grant-1",
            "date": "2022-02-01",
            "security_id": "OPT-1",
            "custom_id": "OPT-1",
            "stakeholder_id": "kai",
            "security_law_exemptions": [],
            "compensation_type": "OPTION",
            "quantity": "200000",
            "expiration_date": "2032-02-01",
            "termination_exercise_windows": [],
            "stock_plan_id": "esop",
            "exercise_price": _usd("0.10"),
        },
        _issuance("series-a-1", "PA-1", "sakura", "2500000", "2023-06-15", "series-a", "2.00"),
        {
            "object_type": "FINANCING",
            "id": "series-a-round",
            "name": "Series A",
            "date": "2023-06-15",
            "issuance_ids": ["series-a-1"],
            "x_roundpool_price_per_share": _usd("2.00"),
        },
    ]


async def seed_kitsune_captable(settings: Settings, app_url: str, founder_id: uuid.UUID) -> list[str]:
    """Write Kitsune's ledger and link Sakura's stakeholder, as the founder; returns problems (none on success)."""
    from schema.app import schema_for

    database = Database(app_url, pool_size=1)
    schema = schema_for(settings)
    problems: list[str] = []
    try:
        founder = Member(founder_id, "kitsune")
        for document, variables in (
            (RECORD, {"events": kitsune_ledger()}),
            (LINK, {"stakeholder": "sakura", "vc": "sakura-vc"}),
        ):
            body = await execute(
                schema,
                database,
                founder,
                GraphQLRequest(document, variables),
                request_id=uuid.uuid4().hex,
                max_page_size=settings.max_page_size,
            )
            result = next(iter((body.get("data") or {}).values()), None)
            if body.get("errors") or (result and "message" in result):
                problems.append(str(body.get("errors") or result))
    finally:
        await database.dispose()
    return problems
