"""cost/legacy.py: a legacy CUR batch mapped to the normalised schema (which columns, which fallbacks)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from cost.errors import InvalidValueError
from cost.legacy import columns_to_read, normalise
from cost.values import Batch
from tests.plugins.cost_files import shared_file
from tests.plugins.costs import LEGACY_SAMPLE


def _batch(columns: dict[str, list[str | None]], first_row: int = 1) -> Batch:
    return Batch(
        pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()}), "cur.csv", first_row
    )


def test_only_the_columns_it_maps_and_every_tag_are_read_in_the_files_order() -> None:
    header = ["identity/LineItemId", "resourceTags/user:Team", "lineItem/UnblendedCost", "product/sku", "x/unknown"]
    assert columns_to_read(header) == ["resourceTags/user:Team", "lineItem/UnblendedCost", "product/sku"]


def test_a_row_is_mapped_with_its_fallbacks() -> None:
    out = normalise(
        _batch(
            {
                "lineItem/UnblendedCost": ["1.25", "2"],
                "lineItem/NetUnblendedCost": ["1.00", None],
                "lineItem/UsageAccountId": ["111122223333", "111122223333"],
                "product/ProductName": ["Amazon EC2", None],
                "lineItem/ProductCode": ["AmazonEC2", "AmazonS3"],
                "product/regionCode": [None, "us-east-1"],
                "product/region": ["ap-northeast-1", "us-west-2"],
                "bill/BillingPeriodStartDate": ["2023-11-01T00:00:00Z", "2023-11-01T00:00:00Z"],
                "lineItem/LineItemType": ["Usage", "Tax"],
                "lineItem/CurrencyCode": ["USD", "USD"],
                "resourceTags/user:Team": ["core", None],  # the reader reads an empty cell as null
            }
        )
    ).to_pydict()
    assert out["BilledCost"] == [Decimal("1.25"), Decimal(2)]
    assert out["ContractedCost"] == [Decimal("1.00"), Decimal(2)]  # net unblended, else unblended
    assert out["ServiceName"] == ["Amazon EC2", "AmazonS3"]  # the product name, else the product code
    assert out["RegionId"] == ["ap-northeast-1", "us-east-1"]  # the region code, else the region
    assert out["SubAccountId"] == ["111122223333"] * 2
    assert out["ChargeCategory"] == ["Usage", "Tax"]
    assert out["BillingPeriodStart"] == [datetime(2023, 11, 1, tzinfo=UTC)] * 2
    assert out["Tags"] == [[("user:Team", "core")], []]  # an empty cell is an absent key
    assert out["ChargeClass"] == [None, None]


def test_a_bad_amount_is_refused_with_its_row_and_column() -> None:
    with pytest.raises(InvalidValueError) as refused:
        normalise(_batch({"lineItem/UnblendedCost": ["1", "one"]}, first_row=41))
    assert (refused.value.file, refused.value.row, refused.value.column) == ("cur.csv", 42, "lineItem/UnblendedCost")


def test_the_real_sample_keeps_every_cent() -> None:
    path = shared_file(LEGACY_SAMPLE)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    wanted = columns_to_read(header)
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    out = normalise(Batch(table.combine_chunks().to_batches()[0], str(path), 1))
    assert out.num_rows == len(rows)
    assert sum(out.column("BilledCost").to_pylist(), Decimal(0)) == sum(
        (Decimal(r["lineItem/UnblendedCost"] or "0") for r in rows), Decimal(0)
    )
    assert sorted(set(out.column("SubAccountId").to_pylist())) == sorted({r["lineItem/UsageAccountId"] for r in rows})
