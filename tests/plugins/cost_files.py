"""Legacy CUR files, the engine tests' operator and scopes, the shared sample data, store listings."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from uuid import UUID

import pytest

from cost.scope import AccountScope, scope_from_database_rows

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

LEGACY_HEADER = [
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
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedCost",
    "product/ProductName",
    "product/regionCode",
    "pricing/unit",
    "pricing/publicOnDemandCost",
    "reservation/ReservationARN",
    "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "resourceTags/user:Team",
    "resourceTags/aws:createdBy",
]
DEFAULTS = {
    "bill/PayerAccountId": "999988887777",
    "bill/BillingPeriodStartDate": "2023-11-01T00:00:00.000Z",
    "lineItem/UsageAccountId": "111111111111",
    "lineItem/LineItemType": "Usage",
    "lineItem/UsageStartDate": "2023-11-02T00:00:00Z",
    "lineItem/UsageEndDate": "2023-11-02T01:00:00Z",
    "lineItem/ProductCode": "AmazonEC2",
    "product/ProductName": "Amazon Elastic Compute Cloud",
    "lineItem/CurrencyCode": "USD",
    "lineItem/UnblendedCost": "1.5",
    "product/regionCode": "us-east-1",
}

WriteLegacy = Callable[..., Path]


def write_legacy_csv(path: Path, rows: Iterable[Mapping[str, str]], header: list[str] | None = None) -> Path:
    header = header or LEGACY_HEADER
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="raise")
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow(
                {k: v for k, v in {**DEFAULTS, "identity/LineItemId": f"id{i}", **row}.items() if k in header}
            )
    return path


# The operator whose store the engine tests use (in the API, operator ids come from the database).
OPERATOR = UUID("00000000-0000-4000-8000-000000000001")


def scope_of(*accounts: str, operator: UUID = OPERATOR) -> AccountScope:
    """A scope of whole accounts (every charge time) of one operator."""
    return scope_from_database_rows([{"operator_id": operator, "account_id": a} for a in accounts])


def shared_file(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"shared data file {path} is absent")
    return path


def listing(root: Path) -> list[tuple[str, int]]:
    if not root.exists():
        return []
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1) for p in root.rglob("*"))
