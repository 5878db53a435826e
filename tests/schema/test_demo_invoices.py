"""The demo's two invoices, end to end through GraphQL as the world's billing admin: a JPY qualified invoice
and a USD invoice (outside Japanese consumption tax), each from a generated month of CUR rows with AWS tax,
AWS credits and a fee, over more than one page. The PDF is read back with pypdf, the totals are recomputed
from the generated rows, and the pages are rasterised when pdftoppm is installed."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from cli import demo_billing as demo
from cost.billing.document import money
from tests.plugins.costs import RunJob
from tests.plugins.graphql import GraphQL
from tests.plugins.world import World

PERIOD = "2026-10"
CLOSE = """
mutation($slug: String!, $period: String!) {
  closeInvoice(tenantSlug: $slug, period: $period) {
    __typename
    ... on Invoice {
      id currency subtotal tax total qualified
      taxBreakdown { ratePercent taxable tax }
      exchangeRates { rate rateDate source }
      lines { kind description quantity unit amount }
    }
    ... on Problem { message }
  }
}"""
DOCUMENT = "query($id: ID!) { invoiceDocument(id: $id, format: PDF) }"


async def _api(gql: GraphQL, world: World, document: str, variables: dict[str, Any] | None = None) -> Any:
    result = await gql(world.actor("billing_admin"), document, variables)
    assert "errors" not in result, result
    (only,) = result["data"].values()
    assert only.get("__typename") not in demo._REFUSALS, only
    return only


async def _demo_invoices(gql: GraphQL, world: World, run_job: RunJob, tmp_path: Path) -> dict[str, Any]:
    """The demo's setup for the world's two startups (its customers' settings, rows and fees), then closed."""
    customers = {
        "startup": replace(demo.CUSTOMERS[0], slug=world.slugs["startup"]),
        "other_startup": replace(demo.CUSTOMERS[1], slug=world.slugs["other_startup"]),
    }
    plan = await _api(gql, world, demo.CREATE_PLAN, {"name": f"Demo {world.suffix}", "rules": demo.plan_rules()})
    await _api(gql, world, demo.ISSUER_MUTATION, {"issuer": demo.ISSUER})
    for category, rate, name, reduced in demo.TAX_CATEGORIES:
        await _api(gql, world, demo.TAX_RATE, {"category": category, "rate": rate, "name": name, "reduced": reduced})
    await _api(
        gql,
        world,
        demo.EXCHANGE_RATE,
        {"period": PERIOD, "rate": str(demo.JPY_RATE), "date": "2026-10-31", "source": demo.JPY_RATE_SOURCE},
    )
    rows: dict[str, list[dict[str, str]]] = {}
    for key, customer in customers.items():
        await _api(gql, world, demo.SETTINGS, {"slug": customer.slug, "settings": dict(customer.settings)})
        for account, name in customer.accounts:
            await _api(gql, world, demo.ASSIGN_ACCOUNT, {"account": account, "slug": customer.slug, "name": name})
        await _api(
            gql,
            world,
            demo.FEE,
            {
                "slug": customer.slug,
                "description": customer.fee[0],
                "value": customer.fee[1],
                "period": PERIOD,
                "currency": customer.currency,
            },
        )
        await _api(gql, world, demo.ASSIGN_PLAN, {"slug": customer.slug, "plan": plan["id"]})
        rows[key] = demo.cur_rows(customer, PERIOD)
    path = demo.write_cur(tmp_path / "cur.csv", [r for part in rows.values() for r in part])
    queued = await _api(gql, world, demo.IMPORT, {"path": str(path)})
    assert (await run_job(world.actor("billing_admin"), queued["id"])).status == "succeeded"
    out: dict[str, Any] = {}
    for key, customer in customers.items():
        invoice = await _api(gql, world, CLOSE, {"slug": customer.slug, "period": PERIOD})
        assert invoice["__typename"] == "Invoice", invoice
        result = await gql(world.actor("billing_admin"), DOCUMENT, {"id": invoice["id"]})
        assert "errors" not in result, result
        pdf = base64.b64decode(result["data"]["invoiceDocument"])
        out[key] = {"customer": customer, "rows": rows[key], "invoice": invoice, "pdf": pdf}
    return out


def _expected(customer: demo.DemoCustomer, rows: list[dict[str, str]]) -> tuple[Decimal, Decimal]:
    """Subtotal and tax from the raw rows: usage marked up per usage type, credits at cost, AWS tax dropped
    (replaced by the operator's), each line converted and rounded once, the fee, tax once per rate."""
    quantum = Decimal(1) if customer.currency == "JPY" else Decimal("0.01")
    rate = demo.JPY_RATE if customer.currency == "JPY" else Decimal(1)
    usage: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        cost, service = Decimal(row["lineItem/UnblendedCost"]), row["product/ProductName"]
        if row["lineItem/LineItemType"] == "Usage":
            markup = demo.EC2_MARKUP if service == demo.EC2 else demo.MARKUP
            usage[(service, row["lineItem/UsageType"], row["pricing/unit"])] += cost * (100 + markup) / 100
        elif row["lineItem/LineItemType"] == "Credit":
            credits[service] += cost
    lines = [(v * rate).quantize(quantum, ROUND_HALF_UP) for v in [*usage.values(), *credits.values()]]
    subtotal = sum(lines, Decimal(0)) + Decimal(customer.fee[1])
    if customer.settings.get("reverseCharge"):
        return subtotal, Decimal(0)
    return subtotal, (subtotal / 10).quantize(quantum, ROUND_HALF_UP)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _check_common(case: dict[str, Any]) -> list[str]:
    invoice, customer = case["invoice"], case["customer"]
    assert any(r["lineItem/LineItemType"] == "Tax" for r in case["rows"])  # the AWS tax is in the data …
    assert not any("AWS tax" in x["description"] for x in invoice["lines"])  # … and not billed (REPLACE)
    kinds = {x["kind"] for x in invoice["lines"]}
    assert {"USAGE", "CREDIT", "FEE"} <= kinds
    for line in invoice["lines"]:
        if line["kind"] == "USAGE":
            assert line["quantity"] is not None, line
            assert line["unit"], line
        else:
            assert (line["quantity"], line["unit"]) == (None, None), line  # tax, credit, fee: no quantity
    subtotal, tax = _expected(customer, case["rows"])
    assert (Decimal(invoice["subtotal"]), Decimal(invoice["tax"])) == (subtotal, tax)
    assert Decimal(invoice["total"]) == subtotal + tax
    pages = _pages(case["pdf"])
    assert len(pages) > 1
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} / {len(pages)}" in text
        assert "内容 Description" in text  # the column headings repeat
    text = "\n".join(pages)
    assert f"登録番号 Registration No.: {demo.ISSUER['registrationNumber']}" in text
    assert f"合計 Total {money(subtotal + tax, customer.currency)}" in text
    fee_line = next(x for x in text.splitlines() if customer.fee[0] in x)
    fee = re.escape(money(Decimal(customer.fee[1]), customer.currency))
    assert re.fullmatch(rf"{re.escape(customer.fee[0])}( 10 %)? {fee}", fee_line.strip()), fee_line
    assert "?" not in text
    return pages


async def test_the_demo_jpy_qualified_invoice_and_usd_invoice_print_what_an_accountant_needs(
    cost_gql: GraphQL, world: World, run_job: RunJob, tmp_path: Path
) -> None:
    cases = await _demo_invoices(cost_gql, world, run_job, tmp_path)

    jpy = cases["startup"]
    invoice = jpy["invoice"]
    assert invoice["qualified"] is True
    pages = _check_common(jpy)
    text = "\n".join(pages)
    (standard,) = invoice["taxBreakdown"]
    assert Decimal(standard["taxable"]) == Decimal(invoice["subtotal"])  # the AWS tax is in no taxable base
    for expected in (
        "適格請求書",
        "株式会社キツネロボティクス (Kitsune Robotics K.K.) 御中",
        "消費税",
        f"10% 対象 taxable {money(Decimal(standard['taxable']), 'JPY')}",
        f"10% 消費税 Tax {money(Decimal(standard['tax']), 'JPY')}",
        "1 USD = 151.42 JPY (rate of 2026-10-31, source: MUFG TTM",
        "支払期日 Due date",
    ):
        assert expected in text, expected
    assert invoice["exchangeRates"] == [{"rate": "151.42", "rateDate": "2026-10-31", "source": demo.JPY_RATE_SOURCE}]
    tax_line = next(x for x in text.splitlines() if x.startswith("消費税 10 %"))
    assert tax_line.strip() == f"消費税 10 % {money(Decimal(standard['tax']), 'JPY')}"  # no quantity, no rate column

    usd = cases["other_startup"]
    assert usd["invoice"]["qualified"] is False
    assert usd["invoice"]["exchangeRates"] == []
    text = "\n".join(_check_common(usd))
    for expected in (
        "Blue Finch Bio, Inc.",
        "Not subject to consumption tax",
        "消費税法第4条第3項第3号",
        f"消費税 Tax {money(Decimal(0), 'USD')}",
    ):
        assert expected in text, expected
    assert "適格請求書" not in text
    assert "10 %" not in text  # no rate applies to a supply outside its scope


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
async def test_every_page_of_the_demo_invoices_rasterises_with_ink_on_it(
    cost_gql: GraphQL, world: World, run_job: RunJob, tmp_path: Path
) -> None:
    cases = await _demo_invoices(cost_gql, world, run_job, tmp_path)
    for key, case in cases.items():
        path = tmp_path / f"{key}.pdf"
        path.write_bytes(case["pdf"])
        subprocess.run(  # noqa: ASYNC221  (a test waiting for pdftoppm; nothing else runs on its loop)
            ["pdftoppm", "-png", "-r", "50", str(path), str(tmp_path / key)],
            check=True,
            timeout=60,
        )
        images = sorted(tmp_path.glob(f"{key}-*.png"))  # noqa: ASYNC240
        assert len(images) == len(PdfReader(io.BytesIO(case["pdf"])).pages) > 1
        for image in images:
            gray = Image.open(image).convert("L")
            histogram = gray.histogram()
            dark = sum(histogram[:128]) / (gray.width * gray.height)
            assert 0.005 < dark < 0.5, (image.name, dark)  # text on a white page, not blank nor black
