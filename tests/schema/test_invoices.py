"""Invoices through GraphQL as the world's actors: preview, close (idempotent, numbered, exact totals), reads,
immutability through the API, void with a credit note and a reissue, documents, margins."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import psycopg
from pypdf import PdfReader

from tests.plugins.billing import PERIOD, SeedCosts, set_up_billing
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import ANONYMOUS, World

LINES = "lines { kind service description amount }"
PREVIEW = f"""
query($tenant: String!, $period: String!) {{
  previewInvoice(tenantSlug: $tenant, period: $period) {{ currency subtotal tax total operatorCost margin {LINES} }}
}}"""
CLOSE = f"""
mutation($tenant: String!, $period: String!, $key: String) {{
  closeInvoice(tenantSlug: $tenant, period: $period, idempotencyKey: $key) {{
    __typename
    ... on Invoice {{ id number status kind period currency subtotal tax total {LINES} }}
    ... on InvoiceAlreadyClosed {{ message invoice {{ id number }} }}
    ... on PeriodHasNoData {{ message }}
    ... on Problem {{ message }}
  }}
}}"""
VOID = """
mutation($id: ID!, $reason: String!) {
  voidInvoice(id: $id, reason: $reason) {
    __typename
    ... on InvoiceVoided {
      voided { id status voidReason number total }
      creditNote { id number kind status total creditNoteForId lines { amount } }
      reissued { id number status total replacesId }
    }
    ... on Problem { message }
  }
}"""
INVOICES = """
query($tenant: String, $period: String) {
  invoices(tenantSlug: $tenant, period: $period) { edges { node { id number status kind total } } }
}"""
DOCUMENT = """
query($id: ID!, $format: DocumentFormat!) { invoiceDocument(id: $id, format: $format) }"""
MARGINS = """
query($period: String!) { margins(period: $period, groupBy: [TENANT]) { tenantSlug currency billed cost margin } }"""


async def _close(gql: GraphQL, world: World, tenant: str = "startup", key: str | None = None) -> dict:
    result = await gql(
        world.actor("billing_admin"), CLOSE, {"tenant": world.slugs[tenant], "period": PERIOD, "key": key}
    )
    assert "errors" not in result, result
    return result["data"]["closeInvoice"]


async def test_preview_close_and_exact_totals(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts, owner_conn: psycopg.Connection
) -> None:
    seeded = seed_costs()
    await set_up_billing(cost_gql, world)
    admin = world.actor("billing_admin")
    preview = await cost_gql(admin, PREVIEW, {"tenant": world.slugs["startup"], "period": PERIOD})
    assert "errors" not in preview, preview
    draft = preview["data"]["previewInvoice"]
    assert owner_conn.execute(
        "select count(*) from invoices where tenant_id = %s", (world.tenants["startup"],)
    ).fetchone() == (0,)  # a preview stores nothing

    closed = await _close(cost_gql, world)
    assert closed["__typename"] == "Invoice", closed
    assert closed["status"] == "CLOSED"
    assert closed["number"] == 1
    total = Decimal(closed["total"])
    assert total == Decimal(draft["total"]) == seeded.expected_total("startup")
    assert sum(Decimal(x["amount"]) for x in closed["lines"]) == total
    assert Decimal(closed["subtotal"]) + Decimal(closed["tax"]) == total
    kinds = [x["kind"] for x in closed["lines"]]
    assert kinds.count("USAGE") == 3
    assert "FEE" in kinds
    assert kinds[-1] == "TAX"

    other = await _close(cost_gql, world, "other_startup")
    assert other["number"] == 2  # gapless across the operator's tenants
    assert Decimal(other["total"]) == seeded.expected_total("other_startup")
    locked = owner_conn.execute(
        "select count(*) from cost_period_locks where tenant_id = %s and period = %s",
        (world.tenants["operator"], PERIOD),
    ).fetchone()
    assert locked == (1,)
    audit = owner_conn.execute(
        "select tenant_id, action from audit_events where subject_type = 'invoice' and subject_id = %s",
        (str(row_id(closed["id"])),),
    ).fetchall()
    assert sorted(a[0] for a in audit) == sorted([world.tenants["startup"], world.tenants["operator"]])


async def test_close_is_idempotent(cost_gql: GraphQL, world: World, seed_costs: SeedCosts) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    first = await _close(cost_gql, world, key="k-1")
    again = await _close(cost_gql, world, key="k-1")
    assert again["__typename"] == "Invoice"
    assert again["id"] == first["id"]
    other_key = await _close(cost_gql, world, key="k-2")
    assert other_key["__typename"] == "InvoiceAlreadyClosed"
    assert other_key["invoice"]["id"] == first["id"]
    no_key = await _close(cost_gql, world)
    assert no_key["__typename"] == "InvoiceAlreadyClosed"
    misused = await _close(cost_gql, world, "other_startup", key="k-1")
    assert misused["__typename"] == "InvalidInput"


async def test_no_data_and_not_allowed(cost_gql: GraphQL, world: World, seed_costs: SeedCosts) -> None:
    seed_costs(("startup",))
    await set_up_billing(cost_gql, world)
    assert (await _close(cost_gql, world, "other_startup"))["__typename"] == "PeriodHasNoData"
    for name in ("startup_owner", "vc_active", "other_startup_owner"):
        result = await cost_gql(world.actor(name), CLOSE, {"tenant": world.slugs["startup"], "period": PERIOD})
        assert result["data"]["closeInvoice"]["__typename"] == "NotAllowed", (name, result)
    result = await cost_gql(ANONYMOUS, CLOSE, {"tenant": world.slugs["startup"], "period": PERIOD})
    assert result["data"]["closeInvoice"]["__typename"] == "NotAllowed"


async def test_who_reads_invoices(cost_gql: GraphQL, world: World, seed_costs: SeedCosts) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    closed = await _close(cost_gql, world)
    expect = {
        "billing_admin": 1,
        "startup_owner": 1,
        "startup_viewer": 1,
        "vc_active": 1,
        "vc_lacking_scope": 0,
        "vc_revoked": 0,
        "vc_expired": 0,
        "vc_requested": 0,
        "other_startup_owner": 0,
    }
    for name, count in expect.items():
        result = await cost_gql(world.actor(name), INVOICES, {"tenant": world.slugs["startup"], "period": PERIOD})
        edges = (result["data"]["invoices"] or {"edges": []})["edges"]
        assert len(edges) == count, (name, result)
        single = await cost_gql(world.actor(name), "query($id: ID!) { invoice(id: $id) { id } }", {"id": closed["id"]})
        assert (single["data"]["invoice"] is not None) == bool(count), name


async def test_void_issues_credit_note_and_reissue(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts, owner_conn: psycopg.Connection
) -> None:
    seeded = seed_costs()
    await set_up_billing(cost_gql, world)
    closed = await _close(cost_gql, world)
    await _close(cost_gql, world, "other_startup")
    admin = world.actor("billing_admin")
    result = await cost_gql(admin, VOID, {"id": closed["id"], "reason": "wrong legal name"})
    outcome = result["data"]["voidInvoice"]
    assert outcome["__typename"] == "InvoiceVoided", outcome
    assert outcome["voided"]["status"] == "VOID"
    assert outcome["voided"]["voidReason"] == "wrong legal name"
    assert outcome["voided"]["total"] == closed["total"]
    assert outcome["voided"]["number"] == 1
    credit, reissued = outcome["creditNote"], outcome["reissued"]
    assert credit["kind"] == "CREDIT_NOTE"
    assert Decimal(credit["total"]) == -Decimal(closed["total"])
    assert sum(Decimal(x["amount"]) for x in credit["lines"]) == Decimal(credit["total"])
    assert (credit["number"], reissued["number"]) == (3, 4)
    assert reissued["replacesId"] == closed["id"]
    assert Decimal(reissued["total"]) == seeded.expected_total("startup")
    again = await cost_gql(admin, VOID, {"id": closed["id"], "reason": "twice"})
    assert again["data"]["voidInvoice"]["__typename"] == "Conflict"
    actions = [
        r[0]
        for r in owner_conn.execute(
            "select action from audit_events where tenant_id = %s and subject_type = 'invoice' order by id",
            (world.tenants["startup"],),
        ).fetchall()
    ]
    assert actions == ["invoice.closed", "invoice.voided", "credit_note.closed", "invoice.closed"]


async def test_documents(cost_gql: GraphQL, world: World, seed_costs: SeedCosts) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    closed = await _close(cost_gql, world)
    for actor in ("billing_admin", "startup_viewer"):
        result = await cost_gql(world.actor(actor), DOCUMENT, {"id": closed["id"], "format": "HTML"})
        html = base64.b64decode(result["data"]["invoiceDocument"]).decode()
        assert "000001" in html
        assert PERIOD in html
        assert "startup K.K." in html
        assert closed["total"] in html.replace(",", "")
    pdf = await cost_gql(world.actor("billing_admin"), DOCUMENT, {"id": closed["id"], "format": "PDF"})
    content = base64.b64decode(pdf["data"]["invoiceDocument"])
    assert content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "000001" in text
    assert "Consumption tax" in text


async def test_margins(cost_gql: GraphQL, world: World, seed_costs: SeedCosts) -> None:
    seed_costs()
    await set_up_billing(cost_gql, world)
    result = await cost_gql(world.actor("billing_admin"), MARGINS, {"period": PERIOD})
    rows = {r["tenantSlug"]: r for r in result["data"]["margins"]}
    assert set(rows) == {world.slugs["startup"], world.slugs["other_startup"]}
    for row in rows.values():
        assert Decimal(row["billed"]) == Decimal(row["cost"]) * Decimal("1.1")
        assert Decimal(row["margin"]) == Decimal(row["billed"]) - Decimal(row["cost"])
    denied = await cost_gql(world.actor("startup_owner"), MARGINS, {"period": PERIOD})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
