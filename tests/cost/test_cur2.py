"""cost/cur2.py: a CUR 2.0 batch (snake_case names, JSON map columns in CSV) mapped to the normalised schema."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from cost import cur2, legacy
from cost.columns import TAGS
from cost.values import Batch


def _batch(columns: dict[str, list[str | None]]) -> Batch:
    return Batch(pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()}), "c.csv", 1)


def test_only_the_columns_it_maps_are_read() -> None:
    header = ["identity_line_item_id", "line_item_unblended_cost", "product", "cost_category", "discount"]
    assert cur2.columns_to_read(header) == ["line_item_unblended_cost", "product"]


def test_service_and_region_come_from_their_column_else_the_product_map() -> None:
    out = cur2.normalise(
        _batch(
            {
                "line_item_unblended_cost": ["3.5", "0.25", "1"],
                "line_item_net_unblended_cost": [None, "0.20", None],
                "line_item_usage_account_id": ["111122223333"] * 3,
                "product_product_name": ["Amazon EC2", None, None],
                "product": [
                    '{"product_name": "ignored", "region": "eu-west-1"}',
                    '{"product_name": "Amazon S3", "region": "us-east-1"}',
                    "{}",
                ],
                "line_item_product_code": ["AmazonEC2", "AmazonS3", "AWSSupport"],
                "product_region_code": ["ap-northeast-1", None, None],
                "bill_billing_period_start_date": ["2023-11-01T00:00:00Z"] * 3,
                "line_item_line_item_type": ["Usage", "Usage", "Fee"],
                "resource_tags": ['{"user_team": "core"}', None, "{}"],
                "line_item_currency_code": ["USD"] * 3,
            }
        )
    ).to_pydict()
    assert out["ServiceName"] == ["Amazon EC2", "Amazon S3", "AWSSupport"]
    assert out["RegionId"] == ["ap-northeast-1", "us-east-1", None]
    assert out["BilledCost"] == [Decimal("3.5"), Decimal("0.25"), Decimal(1)]
    assert out["ContractedCost"] == [Decimal("3.5"), Decimal("0.20"), Decimal(1)]
    assert out["Tags"] == [[("user_team", "core")], [], []]
    assert out["BillingPeriodStart"] == [datetime(2023, 11, 1, tzinfo=UTC)] * 3
    assert out["line_item_type"] == ["Usage", "Usage", "Fee"]


def test_a_row_without_tags_has_the_empty_map_the_legacy_reader_gives() -> None:
    """Null and empty must not differ by format: a filter or an allocation by tag reads both alike, but a client
    reading Tags, or a query written with `is null`, would see CUR 2.0 rows differ from legacy ones."""
    legacy_tags = legacy.normalise(
        _batch({"lineItem/UnblendedCost": ["1", "2"], "resourceTags/user:team": ["core", None]})
    ).column("Tags")
    csv_tags = cur2.normalise(
        _batch({"line_item_unblended_cost": ["1", "2"], "resource_tags": ['{"user_team": "core"}', None]})
    ).column("Tags")
    parquet_map = pa.array([[("user_team", "core")], None], TAGS)
    parquet_tags = cur2.normalise(
        Batch(
            pa.RecordBatch.from_arrays(
                [pa.array(["1", "2"], pa.string()), parquet_map], names=["line_item_unblended_cost", "resource_tags"]
            ),
            "c.parquet",
            1,
        )
    ).column("Tags")
    without_column = cur2.normalise(_batch({"line_item_unblended_cost": ["1"]})).column("Tags")

    assert legacy_tags.to_pylist()[1] == []
    for tags in (csv_tags, parquet_tags):
        assert tags.null_count == 0
        assert tags.to_pylist()[1] == legacy_tags.to_pylist()[1]
    assert without_column.null_count == 0
    assert without_column.to_pylist() == [[]]
