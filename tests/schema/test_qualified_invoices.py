"""A JPY qualified invoice (適格請求書) for a Japanese customer, closed and rendered through GraphQL as the
world's billing admin; its PDF read back with pypdf (and rasterised with pdftoppm when installed)."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import strawberry
from pypdf import PdfReader

from cost.billing.fonts import SYSTEM_FONTS, find_font
from db.session import Database
from resolvers.common.principals import Member
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings
from tests.plugins.billing import PERIOD, SeedCosts, set_up_billing
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.world import World

REGISTRATION = "T7000012050002"
ISSUER = """
mutation($issuer: BillingIssuerInput!) {
  setBillingIssuer(issuer: $issuer) {
    __typename ... on BillingParty { registrationNumber } ... on InvalidInput { field message }
  }
}"""
RATE = """
mutation($period: String!, $rate: Decimal!, $date: Date, $source: String) {
  setExchangeRate(period: $period, currency: "JPY", rate: $rate, rateDate: $date, source: $source) {
    __typename ... on Problem { message }
  }
}"""
TAX_RATE = """
mutation($category: String!, $from: String!, $rate: Decimal!, $reduced: Boolean!) {
  setTaxRate(category: $category, validFrom: $from, ratePercent: $rate, name: "消費税", reduced: $reduced) {
    __typename ... on TaxRate { ratePercent } ... on Problem { message }
  }
}"""
SETTINGS = """
mutation($tenant: String!, $settings: CustomerBillingInput!) {
  setCustomerBilling(tenantSlug: $tenant, settings: $settings) {
    __typename ... on CustomerBilling { taxId currency } ... on Problem { message }
  }
}"""
REDUCED_ITEM = """
mutation($tenant: String!, $period: String!) {
  addCustomLineItem(tenantSlug: $tenant, description: "会議用お弁当", kind: FEE, amountType: FLAT,
                    value: "3000", period: $period, currency: "JPY", taxCategory: "reduced") {
    __typename ... on Problem { message }
  }
}"""
CLOSE = """
mutation($tenant: String!, $period: String!) {
  closeInvoice(tenantSlug: $tenant, period: $period) {
    __typename
    ... on Invoice {
      id number currency subtotal tax total closedAt dueDate paymentTermsDays paymentDetails qualified
      billFrom { name registrationNumber } billTo { name taxId }
      taxBreakdown { ratePercent reduced taxable tax }
      exchangeRates { fromCurrency toCurrency rate rateDate source }
      lines { kind service description usageType quantity unit amount taxRatePercent }
    }
    ... on Problem { message }
  }
}"""
VOID = """
mutation($id: ID!) {
  voidInvoice(id: $id, reason: "宛名の誤り") {
    __typename ... on InvoiceVoided { creditNote { id number dueDate taxBreakdown { tax } } reissued { id number } }
  }
}"""
DOCUMENT = "query($id: ID!, $format: DocumentFormat!) { invoiceDocument(id: $id, format: $format) }"


async def _japanese_customer(gql: GraphQL, world: World, seed_costs: SeedCosts) -> dict:
    seed_costs(("startup",))
    await set_up_billing(gql, world, ("startup",), fee=None)
    admin, slug = world.actor("billing_admin"), world.slugs["startup"]
    issuer = {
        "legalName": "ニンバス・オプス株式会社",
        "address": "東京都千代田区丸の内1-1-1",
        "registrationNumber": REGISTRATION,
        "jurisdiction": "JP",
        "paymentTermsDays": 30,
        "paymentDetails": "三菱UFJ銀行 丸の内支店 普通 1234567",
    }
    steps = [
        (ISSUER, {"issuer": issuer}),
        (RATE, {"period": PERIOD, "rate": "150.25", "date": "2026-10-31", "source": "MUFG TTM"}),
        (TAX_RATE, {"category": "standard", "from": "2019-10", "rate": "10", "reduced": False}),
        (TAX_RATE, {"category": "reduced", "from": "2019-10", "rate": "8", "reduced": True}),
        (
            SETTINGS,
            {
                "tenant": slug,
                "settings": {
                    "currency": "JPY",
                    "legalName": "株式会社キツネ",
                    "taxId": "T4010001008830",
                    "taxRatePercent": "0",
                },
            },
        ),
        (REDUCED_ITEM, {"tenant": slug, "period": PERIOD}),
    ]
    for document, variables in steps:
        result = await gql(admin, document, variables)
        assert "errors" not in result, result
        (only,) = result["data"].values()
        assert only["__typename"] not in ("NotAllowed", "NotFound", "InvalidInput"), only
    closed = await gql(admin, CLOSE, {"tenant": slug, "period": PERIOD})
    assert "errors" not in closed, closed
    invoice = closed["data"]["closeInvoice"]
    assert invoice["__typename"] == "Invoice", invoice
    return invoice


async def test_a_registration_number_is_t_and_13_digits_with_its_check_digit(
    cost_gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    admin = world.actor("billing_admin")
    for bad in ("T7000012050003", "7000012050002", "T70000120500"):
        result = await cost_gql(admin, ISSUER, {"issuer": {"legalName": "Nimbus", "registrationNumber": bad}})
        assert result["data"]["setBillingIssuer"]["__typename"] == "InvalidInput", result
        assert result["data"]["setBillingIssuer"]["field"] == "registrationNumber"
    count = owner_conn.execute(
        "select count(*) from billing_issuers where tenant_id = %s", (world.tenants["operator"],)
    ).fetchone()
    assert count == (0,)
    with pytest.raises(psycopg.errors.CheckViolation), owner_conn.transaction():  # the database checks it too
        owner_conn.execute(
            "insert into billing_issuers (tenant_id, legal_name, registration_number) "
            "values (%s, 'x', 'T7000012050003')",
            (world.tenants["operator"],),
        )
    good = await cost_gql(admin, ISSUER, {"issuer": {"legalName": "Nimbus", "registrationNumber": REGISTRATION}})
    assert good["data"]["setBillingIssuer"] == {"__typename": "BillingParty", "registrationNumber": REGISTRATION}


async def test_a_jpy_qualified_invoice_states_what_the_law_requires(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts, owner_conn: psycopg.Connection
) -> None:
    invoice = await _japanese_customer(cost_gql, world, seed_costs)
    assert invoice["qualified"] is True
    assert invoice["billFrom"] == {"name": "ニンバス・オプス株式会社", "registrationNumber": REGISTRATION}
    assert invoice["billTo"] == {"name": "株式会社キツネ", "taxId": "T4010001008830"}
    closed_on = datetime.fromisoformat(invoice["closedAt"]).astimezone().date()
    assert (date.fromisoformat(invoice["dueDate"]) - closed_on).days in (29, 30, 31)  # UTC date + 30 days
    assert invoice["paymentTermsDays"] == 30
    assert invoice["paymentDetails"].startswith("三菱UFJ銀行")
    assert invoice["exchangeRates"] == [
        {"fromCurrency": "USD", "toCurrency": "JPY", "rate": "150.25", "rateDate": "2026-10-31", "source": "MUFG TTM"}
    ]
    lines = invoice["lines"]
    assert all(x["quantity"] is None and x["unit"] is None for x in lines if x["kind"] != "USAGE")
    assert all(x["quantity"] is not None and x["unit"] == "Hrs" for x in lines if x["kind"] == "USAGE")
    assert all("." not in x["amount"] for x in lines)  # yen has no minor unit: "1500", never "1500.00"
    standard, reduced = invoice["taxBreakdown"]
    assert (standard["ratePercent"], standard["reduced"], reduced["ratePercent"], reduced["reduced"]) == (
        "10",
        False,
        "8",
        True,
    )
    assert reduced == {"ratePercent": "8", "reduced": True, "taxable": "3000", "tax": "240"}
    usage = sum(Decimal(x["amount"]) for x in lines if x["kind"] == "USAGE")
    assert Decimal(standard["taxable"]) == usage
    assert Decimal(standard["tax"]) == (usage / 10).quantize(Decimal(1), "ROUND_HALF_UP")  # once per rate
    assert Decimal(invoice["total"]) == usage + 3000 + Decimal(standard["tax"]) + 240

    # Closed means immutable: the captured details too.
    with pytest.raises(psycopg.errors.RestrictViolation), owner_conn.transaction():
        owner_conn.execute("update invoices set details = '{}' where id = %s", (row_id(invoice["id"]),))

    admin = world.actor("billing_admin")
    pdf = await cost_gql(admin, DOCUMENT, {"id": invoice["id"], "format": "PDF"})
    content = base64.b64decode(pdf["data"]["invoiceDocument"])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    for expected in (
        "適格請求書",
        "ニンバス・オプス株式会社",
        "株式会社キツネ 御中",
        f"登録番号 Registration No.: {REGISTRATION}",
        "取引期間",
        "2026-10-01 – 2026-10-31",
        "10%",
        "消費税",
        "※は軽減税率対象",
        "150.25",
        "MUFG TTM",
        "支払期日",
        invoice["dueDate"],
        f"{Decimal(invoice['total']):,.0f} JPY",
        f"{Decimal(standard['tax']):,.0f} JPY",
    ):
        assert expected in text, expected
    assert "?" not in text
    html = base64.b64decode(
        (await cost_gql(admin, DOCUMENT, {"id": invoice["id"], "format": "HTML"}))["data"]["invoiceDocument"]
    ).decode()
    for expected in ("株式会社キツネ 御中", REGISTRATION, "MUFG TTM"):
        assert expected in html


async def test_a_credit_note_and_the_reissue_reference_the_invoice_they_correct(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts
) -> None:
    invoice = await _japanese_customer(cost_gql, world, seed_costs)
    admin = world.actor("billing_admin")
    outcome = (await cost_gql(admin, VOID, {"id": invoice["id"]}))["data"]["voidInvoice"]
    credit, reissued = outcome["creditNote"], outcome["reissued"]
    assert credit["dueDate"] is None  # a credit note asks for no payment
    negated = [-Decimal(b["tax"]) for b in invoice["taxBreakdown"]]
    assert [Decimal(b["tax"]) for b in credit["taxBreakdown"]] == negated
    number = f"{invoice['number']:06d}"
    for document_id, label in ((credit["id"], "Cancels invoice"), (reissued["id"], "Replaces invoice")):
        pdf = await cost_gql(admin, DOCUMENT, {"id": document_id, "format": "PDF"})
        text = "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(base64.b64decode(pdf["data"]["invoiceDocument"]))).pages
        )
        assert label in text
        assert number in text


async def test_without_a_font_covering_japanese_the_pdf_is_refused_by_name(
    database: Database,
    schema: strawberry.Schema,
    settings: Settings,
    cost_gql: GraphQL,
    world: World,
    seed_costs: SeedCosts,
    cost_store: object,
) -> None:
    invoice = await _japanese_customer(cost_gql, world, seed_costs)
    latin = next((Path(p) for p, _ in SYSTEM_FONTS if "DejaVu" in p and Path(p).exists()), None)  # noqa: ASYNC240
    if latin is None:
        pytest.skip("no Latin-only font to configure")
    actor = world.actor("billing_admin")
    assert actor.user_id is not None
    result = await execute(
        schema,
        database,
        Member(actor.user_id, actor.tenant_slug),
        GraphQLRequest(DOCUMENT, {"id": invoice["id"], "format": "PDF"}),
        request_id=uuid.uuid4().hex,
        max_page_size=100,
        invoice_font=latin,
    )
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "DOCUMENT_FONT_MISSING"
    assert "ROUNDPOOL_INVOICE_FONT" in error["message"]
    assert result["data"] == {"invoiceDocument": None}


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
async def test_the_first_page_rasterises(
    cost_gql: GraphQL, world: World, seed_costs: SeedCosts, tmp_path: Path
) -> None:
    invoice = await _japanese_customer(cost_gql, world, seed_costs)
    pdf = await cost_gql(world.actor("billing_admin"), DOCUMENT, {"id": invoice["id"], "format": "PDF"})
    path = tmp_path / "invoice.pdf"
    path.write_bytes(base64.b64decode(pdf["data"]["invoiceDocument"]))
    command = ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")]
    subprocess.run(command, check=True, timeout=60)  # noqa: ASYNC221 - a test, nothing else runs on its loop
    (page,) = tmp_path.glob("page*.png")  # noqa: ASYNC240
    assert page.read_bytes().startswith(b"\x89PNG")
    assert page.stat().st_size > 5_000


def test_fonts_are_found_by_coverage() -> None:
    try:
        font = find_font("株式会社")
    except LookupError:
        pytest.skip("no CJK font installed")
    assert font.path.exists()
