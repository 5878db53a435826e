"""KPI requests through GraphQL: a granted VC asks, both sides see it, the startup fulfils or declines, the VC
cancels."""

from __future__ import annotations

from typing import Any

from tests.plugins.financials import FinancialsWorld
from tests.plugins.graphql import GraphQL, gid, row_id
from tests.plugins.world import Actor

PROBLEMS = "... on Problem { message } ... on InvalidInput { field }"
FIELDS = "id status kpiKeys periodStart periodEnd dueOn message response kpiReportId startup { slug } vc { slug }"

REQUEST = f"""
mutation($slug: String!, $start: Date!, $end: Date!, $keys: [String!]!, $due: Date, $message: String!) {{
  requestKpis(startupSlug: $slug, periodStart: $start, periodEnd: $end, kpiKeys: $keys, dueOn: $due,
              message: $message) {{ __typename ... on KpiRequest {{ {FIELDS} }} {PROBLEMS} }}
}}"""
RESPOND = f"""
mutation($id: ID!, $fulfilled: Boolean!) {{
  respondToKpiRequest(id: $id, fulfilled: $fulfilled, message: "see the report") {{
    __typename ... on KpiRequest {{ {FIELDS} }} {PROBLEMS}
  }}
}}"""
CANCEL = f"""
mutation($id: ID!) {{ cancelKpiRequest(id: $id) {{ __typename ... on KpiRequest {{ {FIELDS} }} {PROBLEMS} }} }}
"""
LIST = "query($status: KpiRequestStatus) { kpiRequests(status: $status) { edges { node { id status vc { slug } } } } }"


async def _data(gql: GraphQL, actor: Actor, query: str, **variables: Any) -> Any:
    result = await gql(actor, query, variables)
    assert "errors" not in result, result
    return next(iter(result["data"].values()))


def _ask(seed: FinancialsWorld, **overrides: Any) -> dict[str, Any]:
    return {
        "slug": seed.world.slugs["startup"],
        "start": "2024-01-01",
        "end": "2024-01-28",
        "keys": ["arr", "headcount", "arr"],
        "due": None,
        "message": "Q1 board pack",
        **overrides,
    }


async def test_a_granted_vc_asks_and_the_startup_fulfils_with_its_final_report(
    gql: GraphQL, financials_world: FinancialsWorld
) -> None:
    world = financials_world.world
    vc, startup = world.actor("vc_lacking_scope"), world.actor("startup_member")

    asked = await _data(gql, vc, REQUEST, **_ask(financials_world))
    seen_by_startup = await _data(gql, startup, LIST, status="REQUESTED")
    fulfilled = await _data(gql, startup, RESPOND, id=asked["id"], fulfilled=True)
    seen_by_vc = await _data(gql, vc, LIST, status="FULFILLED")

    assert asked["status"] == "REQUESTED"
    assert asked["kpiKeys"] == ["arr", "headcount"]
    assert asked["startup"] == {"slug": world.slugs["startup"]}
    assert asked["vc"] == {"slug": vc.tenant_slug}
    assert asked["id"] in [edge["node"]["id"] for edge in seen_by_startup["edges"]]
    assert fulfilled["status"] == "FULFILLED"
    assert fulfilled["response"] == "see the report"
    assert fulfilled["kpiReportId"] == gid("KpiReport", financials_world.ids["S.kpi.final"])
    assert [edge["node"]["id"] for edge in seen_by_vc["edges"]] == [asked["id"]]


async def test_fulfilling_needs_a_final_report_holding_every_requested_kpi(
    gql: GraphQL, financials_world: FinancialsWorld
) -> None:
    world = financials_world.world
    vc, startup = world.actor("vc_active"), world.actor("startup_owner")
    no_report = await _data(gql, vc, REQUEST, **_ask(financials_world, start="2024-02-01", end="2024-02-28"))
    missing = await _data(gql, vc, REQUEST, **_ask(financials_world, keys=["arr", "burn"]))

    without = await _data(gql, startup, RESPOND, id=no_report["id"], fulfilled=True)
    lacking = await _data(gql, startup, RESPOND, id=missing["id"], fulfilled=True)
    declined = await _data(gql, startup, RESPOND, id=missing["id"], fulfilled=False)
    again = await _data(gql, startup, RESPOND, id=missing["id"], fulfilled=False)

    assert without == {
        "__typename": "InvalidInput",
        "field": "fulfilled",
        "message": "finalize a KPI report for 2024-02-01 to 2024-02-28 first",
    }
    assert lacking["__typename"] == "InvalidInput"
    assert "lacks burn" in lacking["message"]
    assert declined["status"] == "DECLINED"
    assert again == {"__typename": "Conflict", "message": f"KPI request {missing['id']} is declined already"}
    assert str(row_id(missing["id"])) not in again["message"]


async def test_only_the_asking_vc_cancels(gql: GraphQL, financials_world: FinancialsWorld) -> None:
    world = financials_world.world
    request = gid("KpiRequest", financials_world.ids["request.vc_active"])

    by_startup = await _data(gql, world.actor("startup_owner"), CANCEL, id=request)
    by_other_vc = await _data(gql, world.actor("vc_lacking_scope"), CANCEL, id=request)
    by_vc = await _data(gql, world.actor("vc_active"), CANCEL, id=request)
    answer_after = await _data(gql, world.actor("startup_owner"), RESPOND, id=request, fulfilled=False)

    assert by_startup["__typename"] == "NotAllowed"
    assert by_other_vc["__typename"] == "NotFound"
    assert by_vc["status"] == "CANCELLED"
    assert answer_after["__typename"] == "Conflict"


async def test_who_may_not_ask(gql: GraphQL, financials_world: FinancialsWorld) -> None:
    world = financials_world.world
    outcomes = {
        name: (await _data(gql, world.actor(name), REQUEST, **_ask(financials_world)))["__typename"]
        for name in ("vc_requested", "vc_revoked", "vc_expired", "startup_owner", "billing_admin")
    }
    other = await _data(
        gql, world.actor("vc_active"), REQUEST, **_ask(financials_world, slug=world.slugs["other_startup"])
    )
    backwards = await _data(gql, world.actor("vc_active"), REQUEST, **_ask(financials_world, end="2023-12-31"))

    assert outcomes == {
        "vc_requested": "NotAllowed",
        "vc_revoked": "NotAllowed",
        "vc_expired": "NotAllowed",
        "startup_owner": "NotAllowed",
        "billing_admin": "NotAllowed",
    }
    assert other["__typename"] == "NotFound"
    assert (backwards["__typename"], backwards["field"]) == ("InvalidInput", "periodEnd")
