"""Financial statements through GraphQL: drafts, finalization, immutability, validation, granted reads."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.plugins.financials import FinancialsWorld
from tests.plugins.graphql import GraphQL, gid, row_id
from tests.plugins.world import Actor, World

REPORT_FIELDS = "id statement periodStart periodEnd currency status finalizedAt lines { key label amount position }"
PROBLEMS = "... on Problem { message } ... on InvalidInput { field }"

SAVE = f"""
mutation($input: FinancialReportInput!) {{
  saveFinancialReport(input: $input) {{ __typename ... on FinancialReport {{ {REPORT_FIELDS} }} {PROBLEMS} }}
}}"""
FINALIZE = f"""
mutation($id: ID!) {{
  finalizeFinancialReport(id: $id) {{ __typename ... on FinancialReport {{ {REPORT_FIELDS} }} {PROBLEMS} }}
}}"""
DELETE = f"""
mutation($id: ID!) {{
  deleteDraftFinancialReport(id: $id) {{ __typename ... on DeletedFinancialReport {{ deletedId }} {PROBLEMS} }}
}}"""
REPORTS = f"""
query($company: String, $from: Date, $to: Date) {{
  financialReports(companySlug: $company, from: $from, to: $to) {{
    edges {{ node {{ {REPORT_FIELDS} company {{ slug }} }} }} pageInfo {{ hasNextPage }}
  }}
}}"""
REPORT = f"query($id: ID!) {{ financialReport(id: $id) {{ {REPORT_FIELDS} }} }}"


def _input(**overrides: Any) -> dict[str, Any]:
    return {
        "statement": "PROFIT_AND_LOSS",
        "periodStart": "2024-03-01",
        "periodEnd": "2024-03-31",
        "currency": "JPY",
        "lines": [
            {"key": "revenue", "label": "Revenue", "amount": "1500000.25"},
            {"key": "cogs", "label": "Cost of sales", "amount": "-600000"},
        ],
        **overrides,
    }


async def _save(gql: GraphQL, actor: Actor, **overrides: Any) -> dict[str, Any]:
    result = await gql(actor, SAVE, {"input": _input(**overrides)})
    assert "errors" not in result, result
    return result["data"]["saveFinancialReport"]


async def test_a_member_saves_edits_and_finalizes_a_draft(gql: GraphQL, world: World) -> None:
    member = world.actor("startup_member")

    draft = await _save(gql, member)
    edited = await _save(gql, member, id=draft["id"], lines=[{"key": "revenue", "amount": "1600000.5"}])
    final = (await gql(member, FINALIZE, {"id": draft["id"]}))["data"]["finalizeFinancialReport"]

    assert draft["__typename"] == "FinancialReport"
    assert draft["status"] == "DRAFT"
    assert [(line["key"], line["amount"], line["position"]) for line in draft["lines"]] == [
        ("revenue", "1500000.25", 0),
        ("cogs", "-600000", 1),
    ]
    assert edited["id"] == draft["id"]
    assert edited["lines"] == [{"key": "revenue", "label": "", "amount": "1600000.5", "position": 0}]
    assert final["status"] == "FINAL"
    assert final["finalizedAt"] is not None


async def test_a_final_report_cannot_be_edited_finalized_again_or_deleted(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    report = await _save(gql, owner)
    await gql(owner, FINALIZE, {"id": report["id"]})

    edit = await _save(gql, owner, id=report["id"], currency="USD")
    again = (await gql(owner, FINALIZE, {"id": report["id"]}))["data"]["finalizeFinancialReport"]
    delete = (await gql(owner, DELETE, {"id": report["id"]}))["data"]["deleteDraftFinancialReport"]
    read = (await gql(owner, REPORT, {"id": report["id"]}))["data"]["financialReport"]

    for outcome in (edit, again, delete):
        assert outcome["__typename"] == "Conflict"
        assert outcome["message"] == (
            f"financial report {report['id']} (profit_and_loss 2024-03-01 to 2024-03-31) is final and cannot be changed"
        )
        assert str(row_id(report["id"])) not in outcome["message"]
    assert read["currency"] == "JPY"
    assert read["lines"] == report["lines"]


async def test_a_draft_is_deleted_with_its_lines(gql: GraphQL, world: World, owner_conn: psycopg.Connection) -> None:
    owner = world.actor("startup_admin")
    report = await _save(gql, owner)

    deleted = (await gql(owner, DELETE, {"id": report["id"]}))["data"]["deleteDraftFinancialReport"]

    assert deleted == {"__typename": "DeletedFinancialReport", "deletedId": report["id"]}
    left = owner_conn.execute(
        "select count(*) from financial_report_lines where report_id = %s", (row_id(report["id"]),)
    )
    assert left.fetchone() == (0,)


async def test_an_unbalanced_balance_sheet_says_by_how_much(gql: GraphQL, world: World) -> None:
    lines = [
        {"key": "total_assets", "amount": "1000000"},
        {"key": "total_liabilities", "amount": "400000"},
        {"key": "total_equity", "amount": "550000.5"},
    ]

    outcome = await _save(gql, world.actor("startup_owner"), statement="BALANCE_SHEET", lines=lines)

    assert outcome == {
        "__typename": "InvalidInput",
        "field": "lines",
        "message": "the balance sheet does not balance: total_assets 1000000 ≠ total_liabilities 400000"
        " + total_equity 550000.5 = 950000.5; off by 49999.5 (assets exceed liabilities plus equity)",
    }


async def test_a_balanced_balance_sheet_is_saved(gql: GraphQL, world: World) -> None:
    lines = [
        {"key": "total_assets", "amount": "950000.5"},
        {"key": "total_liabilities", "amount": "400000"},
        {"key": "total_equity", "amount": "550000.50"},
    ]

    outcome = await _save(gql, world.actor("startup_owner"), statement="BALANCE_SHEET", lines=lines)

    assert outcome["__typename"] == "FinancialReport"


async def test_invalid_input_names_the_field(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    cases = [
        ({"periodEnd": "2024-02-29"}, "periodEnd", "the period ends (2024-02-29) before it starts (2024-03-01)"),
        ({"currency": "yen"}, "currency", "'yen' is not an ISO 4217 currency code such as 'JPY' or 'USD'"),
        (
            {"lines": [{"key": "revenue", "amount": "1"}, {"key": "revenue", "amount": "2"}]},
            "lines[1].key",
            "line key 'revenue' appears twice: lines[0] and lines[1]",
        ),
        (
            {"lines": [{"key": "revenue", "amount": "1e3"}]},
            "lines[0].amount",
            "'1e3' is not a decimal number such as '-1234.50'",
        ),
        (
            {"lines": [{"key": "revenue", "amount": "0.12345"}]},
            "lines[0].amount",
            "0.12345 has 5 decimal places; at most 4 are kept",
        ),
    ]
    for overrides, field, message in cases:
        outcome = await _save(gql, owner, **overrides)
        assert (outcome["__typename"], outcome["field"], outcome["message"]) == ("InvalidInput", field, message)


async def test_amounts_are_never_floats(gql: GraphQL, world: World, owner_conn: psycopg.Connection) -> None:
    result = await gql(world.actor("startup_owner"), SAVE, {"input": _input(lines=[{"key": "x", "amount": 0.1}])})

    assert result["data"] is None
    assert len(result["errors"]) == 1
    saved = owner_conn.execute(
        "select count(*) from financial_reports where tenant_id = %s", (world.tenants["startup"],)
    )
    assert saved.fetchone() == (0,)


async def test_a_second_report_for_the_same_statement_and_period_conflicts(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    await _save(gql, owner)

    outcome = await _save(gql, owner)

    assert outcome["__typename"] == "Conflict"
    assert "already has a profit_and_loss report for 2024-03-01 to 2024-03-31" in outcome["message"]


async def test_viewers_and_vcs_cannot_write(gql: GraphQL, world: World) -> None:
    for name in ("startup_viewer", "vc_active"):
        outcome = await _save(gql, world.actor(name))
        assert outcome["__typename"] == "NotAllowed", name


async def test_a_granted_vc_reads_only_final_reports_and_the_read_is_audited(
    gql: GraphQL, financials_world: FinancialsWorld, owner_conn: psycopg.Connection
) -> None:
    world = financials_world.world
    slug = world.slugs["startup"]

    seen = {}
    for name in ("vc_active", "vc_lacking_scope", "vc_requested", "vc_revoked", "vc_expired"):
        result = await gql(world.actor(name), REPORTS, {"company": slug})
        assert "errors" not in result, result
        seen[name] = [edge["node"]["id"] for edge in result["data"]["financialReports"]["edges"]]
    draft = await gql(
        world.actor("vc_active"), REPORT, {"id": gid("FinancialReport", financials_world.ids["S.fin.draft"])}
    )
    audit = owner_conn.execute(
        "select actor_tenant_id, subject_type, subject_id from audit_events"
        " where tenant_id = %s and action = 'grant.read' order by id",
        (world.tenants["startup"],),
    ).fetchall()

    final = gid("FinancialReport", financials_world.ids["S.fin.final"])
    assert seen == {
        "vc_active": [final],
        "vc_lacking_scope": [final],
        "vc_requested": [],
        "vc_revoked": [],
        "vc_expired": [],
    }
    assert draft["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert audit == [
        (world.tenants["vc_active"], "financials", "financial_reports"),
        (world.tenants["vc_lacking_scope"], "financials", "financial_reports"),
    ]


async def test_the_startup_lists_its_own_reports_by_period(gql: GraphQL, financials_world: FinancialsWorld) -> None:
    world = financials_world.world

    everything = await gql(world.actor("startup_viewer"), REPORTS, {})
    february = await gql(world.actor("startup_viewer"), REPORTS, {"from": "2024-02-01", "to": "2024-02-29"})
    other = await gql(world.actor("startup_viewer"), REPORTS, {"company": world.slugs["other_startup"]})

    nodes = [edge["node"] for edge in everything["data"]["financialReports"]["edges"]]
    assert [(n["periodStart"], n["status"]) for n in nodes] == [("2024-01-01", "FINAL"), ("2024-02-01", "DRAFT")]
    assert nodes[0]["company"] == {"slug": world.slugs["startup"]}
    assert [e["node"]["status"] for e in february["data"]["financialReports"]["edges"]] == ["DRAFT"]
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_reports_page_with_keyset_cursors(gql: GraphQL, financials_world: FinancialsWorld) -> None:
    viewer = financials_world.world.actor("startup_viewer")
    query = """query($after: String) { financialReports(first: 1, after: $after) {
      edges { node { periodStart } } pageInfo { hasNextPage endCursor } } }"""

    first = (await gql(viewer, query, {"after": None}))["data"]["financialReports"]
    second = (await gql(viewer, query, {"after": first["pageInfo"]["endCursor"]}))["data"]["financialReports"]

    assert [e["node"]["periodStart"] for e in first["edges"] + second["edges"]] == ["2024-01-01", "2024-02-01"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False
