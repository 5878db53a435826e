"""cost/focus.py: a FOCUS 1.0 batch mapped to the normalised schema, SubAccountId falling back to the billing
account."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv

from cost import focus
from cost.values import Batch
from tests.plugins.cost_files import shared_file
from tests.plugins.costs import FOCUS_SAMPLE


def _batch(columns: dict[str, list[str | None]]) -> Batch:
    return Batch(pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()}), "f.csv", 1)


def test_the_columns_it_reads_and_whether_a_file_names_an_account() -> None:
    header = ["AvailabilityZone", "BilledCost", "SubAccountId", "x_Custom"]
    assert focus.columns_to_read(header) == ["BilledCost", "SubAccountId"]
    assert focus.has_account(["BilledCost", "SubAccountId"])
    assert focus.has_account(["BilledCost", "BillingAccountId"])
    assert not focus.has_account(["BilledCost"])


def test_a_row_without_a_sub_account_is_filed_under_its_billing_account() -> None:
    batch = _batch({"SubAccountId": ["111122223333", None], "BillingAccountId": ["999988887777", "999988887777"]})
    assert focus.account_ids(batch).to_pylist() == ["111122223333", "999988887777"]


def test_a_row_is_mapped_and_the_legacy_only_columns_are_null() -> None:
    out = focus.normalise(
        _batch(
            {
                "BilledCost": ["0.0000008"],
                "EffectiveCost": ["0"],
                "BillingAccountId": ["1234567890123"],
                "ServiceName": ["Amazon Simple Queue Service"],
                "BillingPeriodStart": ["2024-09-01 00:00:00"],  # FOCUS is UTC; the samples omit the zone
                "BillingCurrency": ["USD"],
                "Tags": ['{"user:Team": "core"}'],
            }
        )
    ).to_pydict()
    assert out["BilledCost"] == [Decimal("0.0000008")]
    assert out["SubAccountId"] == out["BillingAccountId"] == ["1234567890123"]
    assert out["BillingPeriodStart"] == [datetime(2024, 9, 1, tzinfo=UTC)]
    assert out["Tags"] == [[("user:Team", "core")]]
    assert (out["line_item_type"], out["unblended_cost"], out["net_unblended_cost"]) == ([None], [None], [None])


def test_the_real_sample_keeps_every_cent() -> None:
    path = shared_file(FOCUS_SAMPLE)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    wanted = focus.columns_to_read(list(rows[0]))
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.string()),
            null_values=list(focus.NULL_VALUES),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    out = focus.normalise(Batch(table.combine_chunks().to_batches()[0], str(path), 1))
    assert out.num_rows == len(rows)
    billed = sum((Decimal(r["BilledCost"]) for r in rows if r["BilledCost"] not in focus.NULL_VALUES), Decimal(0))
    assert sum((v for v in out.column("BilledCost").to_pylist() if v is not None), Decimal(0)) == billed
    assert set(out.column("ServiceName").to_pylist()) == {r["ServiceName"] or None for r in rows}
