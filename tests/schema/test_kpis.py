"""KPI definitions and reports through GraphQL: drafts and finalization, granted reads of final values."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.plugins.financials import FinancialsWorld
from tests.plugins.graphql import GraphQL, gid
from tests.plugins.world import Actor, World

PROBLEMS = "... on Problem { message } ... on InvalidInput { field }"
REPORT_FIELDS = "id periodStart periodEnd status values { key unit currency value }"

DEFINE = f"""
mutation($input: KpiDefinitionInput!) {{
  createKpiDefinition(input: $input) {{
    __typename ... on KpiDefinition {{ id key unit currency direction }} {PROBLEMS}
  }}
}}"""
UPDATE_DEFINITION = f"""
mutation($id: ID!, $input: KpiDefinitionInput!) {{
  updateKpiDefinition(id: $id, input: $input) {{ __typename ... on KpiDefinition {{ name unit }} {PROBLEMS} }}
}}"""
DELETE_DEFINITION = f"""
mutation($id: ID!) {{
  deleteKpiDefinition(id: $id) {{ __typename ... on DeletedKpiDefinition {{ deletedId }} {PROBLEMS} }}
}}"""
SAVE = f"""
mutation($input: KpiReportInput!) {{
  saveKpiReport(input: $input) {{ __typename ... on KpiReport {{ {REPORT_FIELDS} }} {PROBLEMS} }}
}}"""
FINALIZE = f"""
mutation($id: ID!) {{ finalizeKpiReport(id: $id) {{ __typename ... on KpiReport {{ {REPORT_FIELDS} }} {PROBLEMS} }} }}
"""
KPIS = f"""
query($company: String) {{
  kpis(companySlug: $company) {{ {REPORT_FIELDS} }}
  latestKpis(companySlug: $company) {{ {REPORT_FIELDS} company {{ slug }} }}
  kpiDefinitions(companySlug: $company) {{ key }}
}}"""


async def _run(gql: GraphQL, actor: Actor, query: str, **variables: Any) -> dict[str, Any]:
    result = await gql(actor, query, variables)
    assert "errors" not in result, result
    return next(iter(result["data"].values()))


async def test_a_startup_defines_kpis_and_reports_them(gql: GraphQL, world: World) -> None:
    member = world.actor("startup_member")
    arr = await _run(gql, member, DEFINE, input={"key": "arr", "name": "ARR", "unit": "CURRENCY", "currency": "USD"})
    await _run(gql, member, DEFINE, input={"key": "nps", "name": "NPS", "unit": "RATIO"})

    draft = await _run(
        gql,
        member,
        SAVE,
        input={
            "periodStart": "2024-04-01",
            "periodEnd": "2024-06-30",
            "values": [{"key": "arr", "value": "1200000.50"}, {"key": "nps", "value": "-12.5"}],
        },
    )
    final = await _run(gql, member, FINALIZE, id=draft["id"])
    edit = await _run(
        gql,
        member,
        SAVE,
        input={
            "id": draft["id"],
            "periodStart": "2024-04-01",
            "periodEnd": "2024-06-30",
            "values": [],
        },
    )

    assert arr == {
        "__typename": "KpiDefinition",
        "id": arr["id"],
        "key": "arr",
        "unit": "CURRENCY",
        "currency": "USD",
        "direction": "UP",
    }
    assert final["status"] == "FINAL"
    assert final["values"] == [
        {"key": "arr", "unit": "CURRENCY", "currency": "USD", "value": "1200000.50"},
        {"key": "nps", "unit": "RATIO", "currency": None, "value": "-12.5"},
    ]
    assert edit["__typename"] == "Conflict"
    assert "is final and cannot be changed" in edit["message"]


async def test_definition_rules(gql: GraphQL, world: World) -> None:
    owner = world.actor("startup_owner")
    cases = [
        ({"key": "arr", "name": "ARR", "unit": "COUNT"}, "unit", "arr is a standard KPI measured in currency"),
        ({"key": "mrr", "name": "MRR", "unit": "CURRENCY"}, "currency", "mrr is an amount of money: give its currency"),
        (
            {"key": "headcount", "name": "People", "unit": "COUNT", "currency": "JPY"},
            "currency",
            "headcount is measured in count, not in a currency",
        ),
        (
            {"key": "Bad Key", "name": "x", "unit": "COUNT"},
            "key",
            "KPI key 'Bad Key' must be lower-case letters, digits and _",
        ),
    ]
    for definition, field, message in cases:
        outcome = await _run(gql, owner, DEFINE, input=definition)
        assert (outcome["__typename"], outcome["field"], outcome["message"]) == ("InvalidInput", field, message)


async def test_a_used_definition_keeps_its_unit_and_cannot_be_deleted(
    gql: GraphQL, financials_world: FinancialsWorld
) -> None:
    owner = financials_world.world.actor("startup_owner")
    arr = gid("KpiDefinition", financials_world.ids["S.def.arr"])

    changed = await _run(
        gql,
        owner,
        UPDATE_DEFINITION,
        id=arr,
        input={"key": "arr", "name": "ARR", "unit": "CURRENCY", "currency": "USD"},
    )
    renamed = await _run(
        gql,
        owner,
        UPDATE_DEFINITION,
        id=arr,
        input={"key": "arr", "name": "Annual RR", "unit": "CURRENCY", "currency": "JPY"},
    )
    deleted = await _run(gql, owner, DELETE_DEFINITION, id=arr)
    unused = await _run(gql, owner, DELETE_DEFINITION, id=gid("KpiDefinition", financials_world.ids["S.def.customers"]))

    assert changed == {
        "__typename": "Conflict",
        "message": "KPI arr is used by a final report: its key, unit and currency cannot change",
    }
    assert renamed == {"__typename": "KpiDefinition", "name": "Annual RR", "unit": "CURRENCY"}
    assert deleted["__typename"] == "Conflict"
    assert unused["__typename"] == "DeletedKpiDefinition"


async def test_values_are_checked_against_their_definition(gql: GraphQL, financials_world: FinancialsWorld) -> None:
    owner = financials_world.world.actor("startup_owner")
    cases = [
        (
            [{"key": "headcount", "value": "12.5"}],
            "values[0].value",
            "headcount is a count: a whole number ≥ 0, not 12.5",
        ),
        ([{"key": "mrr", "value": "1"}], "values[0].key", "no KPI 'mrr' is defined; define it first"),
        (
            [{"key": "arr", "value": "1"}, {"key": "arr", "value": "2"}],
            "values[1].key",
            "KPI 'arr' appears twice: values[0] and values[1]",
        ),
    ]
    for values, field, message in cases:
        outcome = await _run(
            gql, owner, SAVE, input={"periodStart": "2024-05-01", "periodEnd": "2024-05-31", "values": values}
        )
        assert (outcome["__typename"], outcome["field"], outcome["message"]) == ("InvalidInput", field, message)


async def test_the_startup_sees_drafts_a_granted_vc_only_final_kpis(
    gql: GraphQL, financials_world: FinancialsWorld, owner_conn: psycopg.Connection
) -> None:
    world = financials_world.world
    slug = world.slugs["startup"]

    own = (await gql(world.actor("startup_viewer"), KPIS, {}))["data"]
    granted = (await gql(world.actor("vc_lacking_scope"), KPIS, {"company": slug}))["data"]
    revoked = (await gql(world.actor("vc_revoked"), KPIS, {"company": slug}))["data"]
    audited = owner_conn.execute(
        "select subject_id from audit_events where tenant_id = %s and action = 'grant.read' order by id",
        (world.tenants["startup"],),
    ).fetchall()

    assert [r["status"] for r in own["kpis"]] == ["FINAL", "DRAFT"]
    assert own["latestKpis"]["id"] == gid("KpiReport", financials_world.ids["S.kpi.final"])
    assert [r["status"] for r in granted["kpis"]] == ["FINAL"]
    assert granted["latestKpis"]["values"] == [
        {"key": "arr", "unit": "CURRENCY", "currency": "JPY", "value": "12000000"},
        {"key": "headcount", "unit": "COUNT", "currency": None, "value": "12"},
    ]
    assert granted["latestKpis"]["company"] == {"slug": slug}
    assert revoked == {"kpis": [], "latestKpis": None, "kpiDefinitions": []}
    # one event per granted read; the three root fields resolve concurrently, so their events' order is theirs
    assert sorted(audited) == [("kpi_definitions",), ("kpi_reports",), ("kpi_reports",)]
