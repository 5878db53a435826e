"""Demo billing that goes through the API: `nimbus-ops`, a registered Japanese issuer, bills Kitsune in JPY (a
qualified invoice, 消費税 10 %) and Blue Finch, a US business, in USD (outside Japanese consumption tax), each
for the previous month from a generated CUR file: usage of many services and usage types, the AWS tax the
reseller paid (replaced by the operator's tax), AWS credits and a managed-service fee.

Everything runs as the demo billing admin through the GraphQL schema and the import job's own function
(:func:`resolvers.costs.imports.run_import`), so the demo shows what the API does. Idempotent: a customer whose
invoice for the period is closed is left alone, and a customer whose plan is assigned (the last setup step)
is only closed.
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import strawberry

from cli.runtime import CliError
from cost import CostStore
from cost.locations import CostSources, LocalSource
from db.session import Database
from resolvers.common.principals import Member
from resolvers.costs.imports import run_import
from resolvers.global_ids import decode_global_id
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings

OPERATOR = "nimbus-ops"
PLAN_NAME = "Nimbus Standard"
MARKUP = Decimal(12)  # on every service but EC2
EC2 = "Amazon Elastic Compute Cloud"
EC2_MARKUP = Decimal(8)
JPY_RATE = Decimal("151.42")
JPY_RATE_SOURCE = "MUFG TTM (三菱UFJ銀行 対顧客電信売買相場 仲値)"
TAX_CATEGORIES = (("standard", "10", "消費税", False), ("reduced", "8", "消費税（軽減税率）", True))
ISSUER = {
    "legalName": "ニンバスクラウド株式会社 (Nimbus Cloud K.K.)",
    "address": "〒100-0005 東京都千代田区丸の内2-4-1 丸の内ビルディング20階",
    "email": "billing@nimbus.example",
    "registrationNumber": "T9010401234567",
    "jurisdiction": "JP",
    "paymentTermsDays": 30,
    "paymentDetails": "三菱UFJ銀行 丸の内支店 (店番 001) 普通預金 1234567 ニンバスクラウド（カ\n"
    "USD: MUFG Bank, Marunouchi Branch, SWIFT BOTKJPJT, account 9876543 (USD)",
    "reverseChargeNote": "Not subject to Japanese consumption tax: electronic services supplied to a business"
    " outside Japan (国外取引・不課税, 消費税法第4条第3項第3号).",
}

# service, product code, usage types: (usage type without region prefix, unit, USD per unit, units a month)
SERVICES: tuple[tuple[str, str, tuple[tuple[str, str, str, int], ...]], ...] = (
    (
        EC2,
        "AmazonEC2",
        (
            ("BoxUsage:m6i.large", "Hrs", "0.124", 2160),
            ("BoxUsage:m6i.xlarge", "Hrs", "0.248", 1440),
            ("BoxUsage:c6g.2xlarge", "Hrs", "0.272", 720),
            ("BoxUsage:r6i.large", "Hrs", "0.152", 1440),
            ("EBS:VolumeUsage.gp3", "GB-Mo", "0.096", 1800),
            ("EBS:SnapshotUsage", "GB-Mo", "0.05", 950),
            ("DataTransfer-Out-Bytes", "GB", "0.114", 2400),
            ("NatGateway-Hours", "Hrs", "0.062", 1440),
            ("NatGateway-Bytes", "GB", "0.062", 3100),
            ("ElasticIP:IdleAddress", "Hrs", "0.005", 720),
        ),
    ),
    (
        "Amazon Simple Storage Service",
        "AmazonS3",
        (
            ("TimedStorage-ByteHrs", "GB-Mo", "0.025", 12000),
            ("TimedStorage-INT-FA-ByteHrs", "GB-Mo", "0.025", 4000),
            ("Requests-Tier1", "Requests", "0.0000047", 9_000_000),
            ("Requests-Tier2", "Requests", "0.00000037", 60_000_000),
            ("DataTransfer-Out-Bytes", "GB", "0.114", 800),
        ),
    ),
    (
        "Amazon Relational Database Service",
        "AmazonRDS",
        (
            ("InstanceUsage:db.r6g.large", "Hrs", "0.313", 720),
            ("Multi-AZUsage:db.m6g.large", "Hrs", "0.35", 720),
            ("RDS:GP3-Storage", "GB-Mo", "0.138", 500),
            ("RDS:ChargedBackupUsage", "GB-Mo", "0.095", 320),
        ),
    ),
    (
        "AWS Lambda",
        "AWSLambda",
        (
            ("Lambda-GB-Second", "Lambda-GB-Second", "0.0000166667", 40_000_000),
            ("Request", "Requests", "0.0000002", 90_000_000),
            ("Lambda-Provisioned-GB-Second", "Lambda-GB-Second", "0.0000041667", 8_000_000),
        ),
    ),
    (
        "Amazon CloudFront",
        "AmazonCloudFront",
        (
            ("DataTransfer-Out-Bytes", "GB", "0.114", 5200),
            ("Requests-Tier2-HTTPS", "Requests", "0.0000012", 40_000_000),
            ("DataTransfer-Out-OBytes", "GB", "0.06", 900),
        ),
    ),
    (
        "Amazon DynamoDB",
        "AmazonDynamoDB",
        (
            ("ReadRequestUnits", "ReadRequestUnits", "0.000000285", 300_000_000),
            ("WriteRequestUnits", "WriteRequestUnits", "0.000001425", 80_000_000),
            ("TimedStorage-ByteHrs", "GB-Mo", "0.285", 220),
        ),
    ),
    (
        "Amazon Elastic Container Service for Kubernetes",
        "AmazonEKS",
        (("AmazonEKS-Hours:perCluster", "Hrs", "0.10", 1440),),
    ),
    (
        "Amazon Elastic Container Service",
        "AmazonECS",
        (
            ("Fargate-vCPU-Hours:perCPU", "Hrs", "0.05056", 5800),
            ("Fargate-GB-Hours", "GB-Hours", "0.00553", 11600),
        ),
    ),
    (
        "AmazonCloudWatch",
        "AmazonCloudWatch",
        (
            ("CW:MetricMonitorUsage", "Metrics", "0.30", 420),
            ("DataProcessing-Bytes", "GB", "0.76", 310),
            ("TimedStorage-ByteHrs", "GB-Mo", "0.033", 2100),
            ("CW:Requests", "Requests", "0.00001", 3_000_000),
        ),
    ),
    (
        "AWS Key Management Service",
        "awskms",
        (
            ("KMS-Keys", "Keys", "1.0", 14),
            ("KMS-Requests", "Requests", "0.000003", 6_000_000),
        ),
    ),
    ("Amazon Simple Queue Service", "AWSQueueService", (("Requests-RBP", "Requests", "0.0000004", 70_000_000),)),
    (
        "Elastic Load Balancing",
        "AWSELB",
        (
            ("LoadBalancerUsage", "Hrs", "0.0243", 2160),
            ("LCUUsage", "LCU-Hrs", "0.008", 9000),
        ),
    ),
    ("Amazon ElastiCache", "AmazonElastiCache", (("NodeUsage:cache.r6g.large", "NodeUsage", "0.247", 1440),)),
    (
        "Amazon OpenSearch Service",
        "AmazonES",
        (
            ("ESInstance:r6g.large", "Hrs", "0.167", 2160),
            ("ES:GP3-Storage", "GB-Mo", "0.146", 600),
        ),
    ),
    (
        "Amazon Virtual Private Cloud",
        "AmazonVPC",
        (
            ("VpcEndpoint-Hours", "Hrs", "0.014", 4320),
            ("PublicIPv4:InUseAddress", "Hrs", "0.005", 5040),
        ),
    ),
    (
        "AWS Secrets Manager",
        "AWSSecretsManager",
        (
            ("AWSSecretsManager-Secrets", "Secrets", "0.40", 36),
            ("AWSSecretsManager-APIRequest", "API Requests", "0.000005", 2_000_000),
        ),
    ),
    ("Amazon GuardDuty", "AmazonGuardDuty", (("PaidEventsAnalyzed", "Events", "0.000004", 25_000_000),)),
    ("AWS Config", "AWSConfig", (("ConfigurationItemRecorded", "ConfigurationItem", "0.003", 48_000),)),
)
GLOBAL_SERVICES = frozenset({"Amazon CloudFront"})  # usage types without a region prefix
COUNTED = frozenset(
    {"Requests", "API Requests", "ReadRequestUnits", "WriteRequestUnits", "Events", "Metrics", "ConfigurationItem"}
)  # whole units; time and volume units keep three decimals
CUR_HEADER = (
    "identity/LineItemId",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "product/ProductName",
    "product/regionCode",
    "pricing/unit",
)


@dataclass(frozen=True)
class DemoCustomer:
    slug: str
    currency: str
    region: str  # CUR usage-type prefix
    region_code: str
    accounts: tuple[tuple[str, str], ...]  # (account id, name)
    aws_tax_percent: Decimal  # what AWS charged the reseller on these accounts
    credits: tuple[tuple[str, Decimal], ...]  # (service, USD) AWS credits on the first account
    fee: tuple[str, str]  # description, amount in the invoice currency
    settings: Mapping[str, Any] = field(default_factory=dict)  # CustomerBillingInput
    seed: int = 0


CUSTOMERS = (
    DemoCustomer(
        slug="kitsune",
        currency="JPY",
        region="APN1",
        region_code="ap-northeast-1",
        accounts=(("210987654321", "kitsune-production"), ("210987654322", "kitsune-staging")),
        aws_tax_percent=Decimal(10),
        credits=((EC2, Decimal("-350.00")), ("Amazon Simple Storage Service", Decimal("-42.50"))),
        fee=("マネージドサービス運用費 Managed operations fee", "55000"),
        settings={
            "currency": "JPY",
            "legalName": "株式会社キツネロボティクス (Kitsune Robotics K.K.)",
            "address": "〒150-0001 東京都渋谷区神宮前1-2-3 キツネビル5階",
            "email": "keiri@kitsune.example",
            "taxId": "T1011001056789",
        },
        seed=13,
    ),
    DemoCustomer(
        slug="bluefinch",
        currency="USD",
        region="USE1",
        region_code="us-east-1",
        accounts=(("310987654321", "bluefinch-research"), ("310987654322", "bluefinch-lab-data")),
        aws_tax_percent=Decimal("8.875"),
        credits=((EC2, Decimal("-500.00")), ("Amazon Relational Database Service", Decimal("-75.00"))),
        fee=("Managed operations fee", "450.00"),
        settings={
            "currency": "USD",
            "legalName": "Blue Finch Bio, Inc.",
            "address": "400 Channel Street, Suite 210\nSan Francisco, CA 94158\nUnited States",
            "email": "ap@bluefinch.example",
            "taxId": "EIN 84-1234567",
            "reverseCharge": True,
        },
        seed=29,
    ),
)


def previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def cur_rows(customer: DemoCustomer, period: str, accounts: Sequence[str] | None = None) -> list[dict[str, str]]:
    """A month of legacy-CUR rows for the customer's accounts: every usage type in three charge periods per
    account, one AWS tax row per account and service, and the customer's AWS credits (deterministic)."""
    rng = random.Random(f"{customer.seed}:{period}")
    ids = list(accounts) if accounts is not None else [a for a, _ in customer.accounts]
    year, month = (int(x) for x in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    start, end = f"{period}-01T00:00:00Z", f"{period}-{last:02d}T23:59:59Z"
    charges: list[_Charge] = []
    for n, account in enumerate(ids):
        share = Decimal(1) if n == 0 else Decimal("0.35")  # the second account is a smaller one
        for service, code, usage_types in SERVICES:
            usage = _usage(customer, period, last, rng, account, share, (service, code, usage_types))
            service_cost = sum((c.cost for c in usage), Decimal(0))
            tax = (service_cost * customer.aws_tax_percent / 100).quantize(Decimal("0.0000000001"))
            charges += [*usage, _Charge(account, "Tax", service, code, "", start, end, "1", tax, "")]
        if n == 0:
            for service, amount in customer.credits:
                code = next(c for s, c, _ in SERVICES if s == service)
                charges.append(_Charge(account, "Credit", service, code, "", start, end, "1", amount, ""))
    return [_cur_row(customer, period, index, charge) for index, charge in enumerate(charges)]


@dataclass(frozen=True)
class _Charge:
    account: str
    kind: str
    service: str
    code: str
    usage_type: str
    begin: str
    finish: str
    quantity: str
    cost: Decimal
    unit: str


def _usage(
    customer: DemoCustomer,
    period: str,
    last: int,
    rng: random.Random,
    account: str,
    share: Decimal,
    service_entry: tuple[str, str, tuple[tuple[str, str, str, int], ...]],
) -> list[_Charge]:
    """One service's usage on one account: every usage type in three charge periods, a random factor each."""
    service, code, usage_types = service_entry
    charges = []
    for suffix, unit, price, monthly in usage_types:
        usage_type = suffix if service in GLOBAL_SERVICES else f"{customer.region}-{suffix}"
        for first, final in ((1, 10), (11, 20), (21, last)):
            days = Decimal(final - first + 1) / last
            factor = Decimal(rng.randrange(70, 131)) / 100
            step = Decimal(1) if unit in COUNTED else Decimal("0.001")
            quantity = (monthly * share * days * factor).quantize(step)
            cost = (quantity * Decimal(price)).quantize(Decimal("0.0000000001"))
            begin, finish = f"{period}-{first:02d}T00:00:00Z", f"{period}-{final:02d}T23:59:59Z"
            charges.append(
                _Charge(account, "Usage", service, code, usage_type, begin, finish, f"{quantity:f}", cost, unit)
            )
    return charges


def _cur_row(customer: DemoCustomer, period: str, index: int, charge: _Charge) -> dict[str, str]:
    return {
        "identity/LineItemId": f"{customer.slug}-{index:05d}",
        "bill/PayerAccountId": "999900001111",
        "bill/BillingPeriodStartDate": f"{period}-01T00:00:00.000Z",
        "lineItem/UsageAccountId": charge.account,
        "lineItem/LineItemType": charge.kind,
        "lineItem/UsageStartDate": charge.begin,
        "lineItem/UsageEndDate": charge.finish,
        "lineItem/ProductCode": charge.code,
        "lineItem/UsageType": charge.usage_type,
        "lineItem/Operation": "",
        "lineItem/UsageAmount": charge.quantity,
        "lineItem/CurrencyCode": "USD",
        "lineItem/UnblendedCost": f"{charge.cost:f}",
        "product/ProductName": charge.service,
        "product/regionCode": customer.region_code,
        "pricing/unit": charge.unit,
    }


def write_cur(path: Path, rows: Iterable[Mapping[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CUR_HEADER, extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)
    return path


CLOSED = """query($period: String!) { invoices(period: $period, status: CLOSED, first: 100) {
  edges { node { kind company { slug } } } } }"""
PLANS = "{ pricingPlans(first: 100) { edges { node { id name } } } }"
CUSTOMER = "query($slug: String!) { customerBilling(tenantSlug: $slug) { planId } }"
CREATE_PLAN = """mutation($name: String!, $rules: [PricingRuleInput!]!) {
  createPricingPlan(name: $name, validFrom: "2019-10", rules: $rules) {
    __typename ... on PricingPlan { id } ... on Problem { message } } }"""
ISSUER_MUTATION = """mutation($issuer: BillingIssuerInput!) {
  setBillingIssuer(issuer: $issuer) { __typename ... on Problem { message } } }"""
TAX_RATE = """mutation($category: String!, $rate: Decimal!, $name: String!, $reduced: Boolean!) {
  setTaxRate(category: $category, validFrom: "2019-10", ratePercent: $rate, name: $name, reduced: $reduced) {
    __typename ... on Problem { message } } }"""
EXCHANGE_RATE = """mutation($period: String!, $rate: Decimal!, $date: Date!, $source: String!) {
  setExchangeRate(period: $period, currency: "JPY", rate: $rate, rateDate: $date, source: $source) {
    __typename ... on Problem { message } } }"""
SETTINGS = """mutation($slug: String!, $settings: CustomerBillingInput!) {
  setCustomerBilling(tenantSlug: $slug, settings: $settings) { __typename ... on Problem { message } } }"""
ASSIGN_ACCOUNT = """mutation($account: String!, $slug: String!, $name: String!) {
  assignCloudAccount(accountId: $account, tenantSlug: $slug, name: $name) {
    __typename ... on Problem { message } } }"""
FEE = """mutation($slug: String!, $description: String!, $value: Decimal!, $period: String!, $currency: String!) {
  addCustomLineItem(tenantSlug: $slug, description: $description, kind: FEE, amountType: FLAT, value: $value,
                    period: $period, currency: $currency) { __typename ... on Problem { message } } }"""
IMPORT = """mutation($path: String!) {
  importCostReport(path: $path) { __typename ... on CostImport { id } ... on Problem { message } } }"""
ASSIGN_PLAN = """mutation($slug: String!, $plan: ID!) {
  assignPricingPlan(tenantSlug: $slug, planId: $plan) { __typename ... on Problem { message } } }"""
CLOSE = """mutation($slug: String!, $period: String!) {
  closeInvoice(tenantSlug: $slug, period: $period) { __typename ... on Problem { message } } }"""
_REFUSALS = ("NotAllowed", "NotFound", "InvalidInput", "Conflict", "PeriodHasNoData")


def plan_rules() -> list[dict[str, str]]:
    return [
        {"scope": "GLOBAL", "adjustment": "MARKUP", "percent": str(MARKUP)},
        {"scope": "SERVICE", "adjustment": "MARKUP", "percent": str(EC2_MARKUP), "value": EC2},
    ]


@dataclass
class _Api:
    settings: Settings
    schema: strawberry.Schema
    database: Database
    store: CostStore
    admin: Member
    sources: CostSources

    async def __call__(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        body = await execute(
            self.schema,
            self.database,
            self.admin,
            GraphQLRequest(document, variables),
            request_id=uuid.uuid4().hex,
            max_page_size=self.settings.max_page_size,
            cost_store=self.store,
            cost_sources=self.sources,
        )
        if body.get("errors"):
            raise CliError(f"demo billing: {body['errors'][0].get('message')}")
        result = next(iter(body["data"].values()))
        if isinstance(result, dict) and result.get("__typename") in _REFUSALS:
            raise CliError(f"demo billing: {result['__typename']}: {result.get('message')}")
        return result


def demo_folder(settings: Settings) -> Path:
    return (settings.home / "demo").resolve()


def demo_sources(settings: Settings) -> CostSources:
    """The configured sources plus the demo's own folder: the demo's report is written by the server itself,
    so it is importable even where production settings configure no source for it."""
    own = LocalSource("demo reports", str(demo_folder(settings)))
    return CostSources((*settings.cost_import_sources.sources, own))


async def seed_demo_billing(settings: Settings, app_url: str, admin_id: uuid.UUID, period: str) -> None:
    from schema.app import schema_for

    database = Database(app_url, pool_size=4, statement_timeout_ms=settings.statement_timeout_ms)
    try:
        api = _Api(
            settings,
            schema_for(settings),
            database,
            CostStore(settings.cost_store_root),
            Member(admin_id, OPERATOR),
            demo_sources(settings),
        )
        closed = {
            e["node"]["company"]["slug"]
            for e in (await api(CLOSED, {"period": period}))["edges"]
            if e["node"]["kind"] == "INVOICE"
        }
        pending = [c for c in CUSTOMERS if c.slug not in closed]
        if not pending:
            return
        plans = [e["node"]["id"] for e in (await api(PLANS))["edges"] if e["node"]["name"] == PLAN_NAME]
        plan = plans[0] if plans else (await api(CREATE_PLAN, {"name": PLAN_NAME, "rules": plan_rules()}))["id"]
        await api(ISSUER_MUTATION, {"issuer": ISSUER})
        for category, rate, name, reduced in TAX_CATEGORIES:
            await api(TAX_RATE, {"category": category, "rate": rate, "name": name, "reduced": reduced})
        year, month = (int(x) for x in period.split("-"))
        rate_date = date(year, month, calendar.monthrange(year, month)[1]).isoformat()
        await api(
            EXCHANGE_RATE, {"period": period, "rate": str(JPY_RATE), "date": rate_date, "source": JPY_RATE_SOURCE}
        )
        unset = [c for c in pending if (await api(CUSTOMER, {"slug": c.slug}) or {}).get("planId") is None]
        if unset:
            await _set_up(api, unset, plan, period)
        for customer in pending:  # after the import: a closed invoice locks the operator's period
            await api(CLOSE, {"slug": customer.slug, "period": period})
    finally:
        await database.dispose()


async def _set_up(api: _Api, customers: Sequence[DemoCustomer], plan: str, period: str) -> None:
    """Settings, accounts, fees and the month's costs (one CUR file, as the reseller's payer account receives
    it); the plans last, since an assigned plan marks a customer as set up."""
    rows: list[dict[str, str]] = []
    for customer in customers:
        await api(SETTINGS, {"slug": customer.slug, "settings": dict(customer.settings)})
        for account, name in customer.accounts:
            await api(ASSIGN_ACCOUNT, {"account": account, "slug": customer.slug, "name": name})
        description, value = customer.fee
        await api(
            FEE,
            {
                "slug": customer.slug,
                "description": description,
                "value": value,
                "period": period,
                "currency": customer.currency,
            },
        )
        rows += cur_rows(customer, period)
    path = write_cur(demo_folder(api.settings) / f"cur-{period}.csv", rows)
    queued = await api(IMPORT, {"path": str(path.resolve())})
    import_id = decode_global_id("CostImport", queued["id"], "id")
    record = await run_import(api.database, api.store, import_id, api.admin, sources=api.sources)
    if record.status not in ("succeeded", "duplicate"):
        raise CliError(f"demo billing: the cost import of {path} {record.status}: {record.error}")
    for customer in customers:
        await api(ASSIGN_PLAN, {"slug": customer.slug, "plan": plan})


def load_demo_billing(settings: Settings, app_url: str, ids: Mapping[str, uuid.UUID]) -> None:
    """Called by the demo loader: the previous month's invoices of the demo customers, closed."""
    period = previous_month(datetime.now(UTC).date())
    asyncio.run(seed_demo_billing(settings, app_url, ids["billing@nimbus.example"], period))
