"""Cloud accounts, cost import manifests and cost rows. Amounts are `Decimal` (strings) with a currency."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from cost import Dimension, LateData, Metric
from db.cost_records import CloudAccountRecord, CostImportRecord, CostImportStatus
from resolvers.common.context import RequestContext
from schema.types.counts import Count
from schema.types.node import Node
from schema.types.tenancy import Tenant, load_tenant


@strawberry.enum(
    description="A dimension to group costs by; TAG groups by the value of `tagKey`; CATEGORY (alone) by the cost "
    "categories of the set named in `categorySet` (billing admins)."
)
class CostGroupBy(enum.Enum):  # not cost.Dimension: CURRENCY is always added, TAG/CATEGORY are not dimensions
    SERVICE = "service"
    ACCOUNT = "account"
    RESOURCE = "resource"
    REGION = "region"
    DAY = "day"
    MONTH = "month"
    CHARGE_CATEGORY = "charge_category"
    LINE_ITEM_TYPE = "line_item_type"
    TAG = "tag"
    CATEGORY = "category"

    def dimension(self) -> Dimension | None:
        return None if self is CostGroupBy.TAG else Dimension(self.value)


# The engine's enums are the GraphQL enums (GraphQL names them by member name): registered once, typed by class.
strawberry.enum(
    Metric,
    name="CostMetric",
    description="BILLED: what the provider charged; EFFECTIVE: amortised; LIST: public on-demand; "
    "NET: after discounts where the report has it, else billed.",
)


strawberry.enum(CostImportStatus, name="CostImportStatus")


strawberry.enum(
    LateData,
    name="LateData",
    description="What an import does with rows of a closed (locked) billing period. REJECT: the import fails "
    "and publishes nothing. CORRECTIONS: each such row moves to the first later period that is not closed, as a "
    "correction (ChargeClass `Correction`, billed as CORRECTION lines); a closed period never changes.",
)


@strawberry.input
class TagFilterInput:
    key: str
    values: list[str]


@strawberry.input(description="Rows kept: each given list must contain the row's value (AND across fields).")
class CostFilterInput:
    services: list[str] | None = None
    regions: list[str] | None = None
    charge_categories: list[str] | None = None
    line_item_types: list[str] | None = None
    accounts: list[str] | None = None
    tags: list[TagFilterInput] | None = None


def _amount(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(format(value, "f"))


@strawberry.type(description="One group: its keys (null when not grouped by), currency and the asked metrics.")
class CostRow:
    account: str | None = None
    service: str | None = None
    resource: str | None = None
    region: str | None = None
    day: str | None = None
    month: str | None = None
    charge_category: str | None = None
    line_item_type: str | None = None
    tag: str | None = strawberry.field(default=None, description="The value of tag `tagKey`.")
    category: str | None = strawberry.field(default=None, description="The cost category (grouping by CATEGORY).")
    currency: str | None = None
    list: Decimal | None = None
    billed: Decimal | None = None
    effective: Decimal | None = None
    net: Decimal | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CostRow:
        keys = (
            "account",
            "service",
            "resource",
            "region",
            "month",
            "charge_category",
            "line_item_type",
            "tag",
            "category",
        )
        values: dict[str, Any] = {k: row.get(k) for k in keys}
        day = row.get("day")
        values["day"] = None if day is None else str(day)
        values["currency"] = row.get("currency")
        for metric in Metric:
            values[metric.value] = _amount(row.get(metric.value))
        return cls(**values)


@strawberry.type
class CloudAccount:
    account_id: str
    name: str
    payer_account_id: str | None
    assigned_at: datetime
    tenant_id: strawberry.Private[UUID]

    @classmethod
    def from_record(cls, record: CloudAccountRecord) -> CloudAccount:
        return cls(
            account_id=record.account_id,
            name=record.name,
            payer_account_id=record.payer_account_id,
            assigned_at=record.assigned_at,
            tenant_id=record.tenant_id,
        )

    @strawberry.field(description="The tenant the account is assigned to.")
    async def company(self, info: Info[RequestContext, None]) -> Tenant | None:
        return await load_tenant(info, self.tenant_id)


@strawberry.type(description="Where an import failed: file, 1-based data row and column when known, and why.")
class CostImportError:
    file: str
    row: int | None
    column: str | None
    reason: str


@strawberry.type(description="Rows of a closed period that an import re-homed into a later open period.")
class RehomedPeriod:
    source_period: str = strawberry.field(description="The closed period the rows belong to (YYYY-MM).")
    target_period: str = strawberry.field(description="The open period they were imported into as corrections.")
    rows: float


@strawberry.type(description="A billing-file import (a background job) and its progress.")
class CostImport(Node):
    status: CostImportStatus
    source_uri: str
    source_name: str
    digest: str | None = strawberry.field(
        description="The file's content digest, its identity (a file imported again is a duplicate): BLAKE3-256 in"
        " hex; SHA-256 for imports recorded before BLAKE3 replaced it. Null until the file was read."
    )
    format: str | None
    currency: str | None
    bytes_processed: Count = strawberry.field(description="Bytes of the file read so far (compressed bytes).")
    bytes_total: Count | None
    rows_processed: Count
    periods: list[str]
    accounts: list[str]
    error: CostImportError | None
    late_data: LateData
    rehomed: list[RehomedPeriod] = strawberry.field(
        description="Periods whose rows were re-homed as corrections (lateData CORRECTIONS); empty otherwise."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @strawberry.field(
        deprecation_reason="Files are identified by their BLAKE3 digest (`digest`); SHA-256 is no longer computed,"
        " so this is always null."
    )
    def sha256(self) -> str | None:
        return None

    @classmethod
    def from_record(cls, record: CostImportRecord) -> CostImport:
        error = None
        if record.error is not None:
            error = CostImportError(
                file=str(record.error.get("file", "")),
                row=record.error.get("row"),
                column=record.error.get("column"),
                reason=str(record.error.get("reason", "")),
            )
        return cls(
            db_id=record.id,
            status=record.status,
            source_uri=record.source_uri,
            source_name=record.source_name,
            digest=record.digest,
            format=record.format,
            currency=record.currency,
            bytes_processed=Count(record.bytes),
            bytes_total=None if record.bytes_total is None else Count(record.bytes_total),
            rows_processed=Count(record.rows),
            periods=list(record.periods),
            accounts=list(record.accounts),
            error=error,
            late_data=record.late_data,
            rehomed=[
                RehomedPeriod(source_period=r["source_period"], target_period=r["target_period"], rows=r["rows"])
                for r in record.rehomed
            ],
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )
