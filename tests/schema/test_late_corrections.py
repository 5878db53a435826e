"""Late data for a closed month through the API: `importCostReport(lateData: CORRECTIONS)` re-homes October's
late rows into November as corrections; October's closed invoice never changes, November's bills them as
CORRECTION lines. The default (REJECT) still refuses the file and publishes nothing."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg

from cost import CostStore, import_file
from tests.plugins.billing import MARKUP, PERIOD, TAX, SeedCosts, cost_rows, set_up_billing
from tests.plugins.cost_files import write_legacy_csv
from tests.plugins.costs import RunJob
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import World

NEXT = "2026-11"
LINES = "lines { kind service description amount }"
CLOSE = f"""
mutation($tenant: String!, $period: String!) {{
  closeInvoice(tenantSlug: $tenant, period: $period) {{
    __typename ... on Invoice {{ id number status period subtotal tax total {LINES} }} ... on Problem {{ message }}
  }}
}}"""
INVOICE = f"query($id: ID!) {{ invoice(id: $id) {{ id number status period subtotal tax total {LINES} }} }}"
IMPORT = """
mutation($path: String!, $late: LateData) {
  importCostReport(path: $path, lateData: $late) {
    __typename ... on CostImport { id status lateData } ... on Problem { message }
  }
}"""
IMPORT_DEFAULT = """
mutation($path: String!) {
  importCostReport(path: $path) { __typename ... on CostImport { id status lateData } ... on Problem { message } }
}"""
STATUS = """
query($id: ID!) {
  costImport(id: $id) {
    status periods lateData rehomed { sourcePeriod targetPeriod rows } error { file reason }
  }
}"""


async def _close(gql: GraphQL, world: World, period: str) -> dict:
    result = await gql(world.actor("billing_admin"), CLOSE, {"tenant": world.slugs["startup"], "period": period})
    assert "errors" not in result, result
    invoice = result["data"]["closeInvoice"]
    assert invoice["__typename"] == "Invoice", invoice
    return invoice


def _rated(rows: list[dict[str, str]]) -> dict[str, Decimal]:
    """Per service: cost with the plan's markup, rounded once (one invoice line per service)."""
    per_service: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        per_service[row["product/ProductName"]] += Decimal(row["lineItem/UnblendedCost"]) * (100 + MARKUP) / 100
    return {s: v.quantize(Decimal("0.01"), ROUND_HALF_UP) for s, v in per_service.items()}


async def test_late_october_lands_in_november_as_corrections(
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    run_job: RunJob,
    cost_store: CostStore,
    owner_conn: psycopg.Connection,
    tmp_path: Path,
) -> None:
    seeded = seed_costs(("startup",))
    await set_up_billing(cost_gql, world, ("startup",))
    october = await _close(cost_gql, world, PERIOD)
    assert owner_conn.execute(
        "select count(*) from cost_period_locks where tenant_id = %s and period = %s",
        (world.tenants["operator"], PERIOD),
    ).fetchone() == (1,)
    accounts = seeded.accounts["startup"]
    rng = random.Random()
    november = cost_rows(accounts, NEXT, 12, rng.randrange(1 << 30))  # November's regular usage, same source
    import_file(
        str(write_legacy_csv(tmp_path / "november.csv", november)), cost_store.for_operator(world.tenants["operator"])
    )
    late = cost_rows(accounts, PERIOD, 7, rng.randrange(1 << 30))  # arrives after October was closed
    path = write_legacy_csv(tmp_path / "late-october.csv", late)
    admin = world.actor("billing_admin")

    # Default: refused, nothing published.
    catalog = cost_store.for_operator(world.tenants["operator"]).catalog()
    queued = (await cost_gql(admin, IMPORT_DEFAULT, {"path": str(path)}))["data"]["importCostReport"]
    assert (queued["__typename"], queued["lateData"]) == ("CostImport", "REJECT"), queued
    await run_job(admin, queued["id"])
    refused = (await cost_gql(admin, STATUS, {"id": queued["id"]}))["data"]["costImport"]
    assert refused["status"] == "FAILED"
    assert refused["error"]["file"] == str(path)
    assert PERIOD in refused["error"]["reason"]
    assert refused["rehomed"] == []
    assert cost_store.for_operator(world.tenants["operator"]).catalog() == catalog

    # Opt-in: re-homed into November as corrections.
    queued = (await cost_gql(admin, IMPORT, {"path": str(path), "late": "CORRECTIONS"}))["data"]["importCostReport"]
    assert (queued["__typename"], queued["lateData"]) == ("CostImport", "CORRECTIONS"), queued
    await run_job(admin, queued["id"])
    done = (await cost_gql(admin, STATUS, {"id": queued["id"]}))["data"]["costImport"]
    assert done["status"] == "SUCCEEDED", done
    assert done["periods"] == [NEXT]
    assert done["rehomed"] == [{"sourcePeriod": PERIOD, "targetPeriod": NEXT, "rows": len(late)}]
    stored = owner_conn.execute(
        "select late_data, rehomed from cost_imports where id = %s", (row_id(queued["id"]),)
    ).fetchone()
    assert stored == ("corrections", [{"source_period": PERIOD, "target_period": NEXT, "rows": len(late)}])

    # October's closed invoice is unchanged.
    again = (await cost_gql(admin, INVOICE, {"id": october["id"]}))["data"]["invoice"]
    assert again == {k: october[k] for k in again}

    # November bills its own usage plus October's late rows as CORRECTION lines.
    closed = await _close(cost_gql, world, NEXT)
    by_kind: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for line in closed["lines"]:
        by_kind[line["kind"]][line["service"]] = Decimal(line["amount"])
    assert by_kind["CORRECTION"] == _rated(late)
    assert by_kind["USAGE"] == _rated(november)
    assert all(x["description"].startswith("Correction: ") for x in closed["lines"] if x["kind"] == "CORRECTION")
    subtotal = sum(_rated(late).values()) + sum(_rated(november).values())
    assert Decimal(closed["subtotal"]) == subtotal
    assert Decimal(closed["total"]) == subtotal + (subtotal * TAX / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert sum(Decimal(x["amount"]) for x in closed["lines"]) == Decimal(closed["total"])
