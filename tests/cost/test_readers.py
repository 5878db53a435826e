from __future__ import annotations

import csv
import gzip
import json
import zipfile
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cost.columns import SCHEMA
from cost.errors import (
    CorruptFileError,
    DuplicateColumnError,
    EmptyFileError,
    InvalidNumberError,
    InvalidValueError,
    MixedCurrencyError,
    UnknownFormatError,
)
from cost.formats import Format
from cost.readers import Reader
from tests.plugins.cost_files import LEGACY_HEADER, WriteLegacy, shared_file


def read_all(path: Path, **kwargs: int) -> pa.Table:
    return pa.Table.from_batches(list(Reader(str(path), **kwargs)), schema=SCHEMA)


def sums(table: pa.Table, keys: list[str], value: str) -> dict[tuple[str, ...], Decimal]:
    out: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for row in table.select([*keys, value]).to_pylist():
        if row[value] is not None:
            out[tuple(row[k] for k in keys)] += row[value]
    return dict(out)


def test_legacy_sample_totals_match_the_raw_file() -> None:
    path = shared_file("cur/legacy-cur-anonymized-sample.csv")
    expected: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            service = row["product/ProductName"] or row["lineItem/ProductCode"]
            expected[(row["lineItem/UsageAccountId"], service)] += Decimal(row["lineItem/UnblendedCost"] or "0")
    reader = Reader(str(path))
    table = pa.Table.from_batches(list(reader), schema=SCHEMA)
    assert reader.format is Format.LEGACY_CUR
    assert reader.currency == "USD"
    assert table.num_rows == 1281
    assert sums(table, ["SubAccountId", "ServiceName"], "BilledCost") == dict(expected)


def test_focus_sample_totals_match_the_raw_file() -> None:
    path = shared_file("focus/focus-1.0-sample.csv")
    billed: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    effective: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["SubAccountId"], row["ServiceName"])
            billed[key] += Decimal(row["BilledCost"])
            effective[key] += Decimal(row["EffectiveCost"])
    table = read_all(path)
    assert table.num_rows == 1000
    assert sums(table, ["SubAccountId", "ServiceName"], "BilledCost") == dict(billed)
    assert sums(table, ["SubAccountId", "ServiceName"], "EffectiveCost") == dict(effective)
    tagged = [t for t in table.column("Tags").to_pylist() if t]
    assert ("environment", "dev") in tagged[0]


@pytest.mark.parametrize("kind", ["gzip", "zip"])
def test_compressed_variants_read_the_same(legacy_csv: WriteLegacy, tmp_path: Path, kind: str) -> None:
    plain = legacy_csv([{"lineItem/UnblendedCost": f"{i}.25E-3"} for i in range(50)])
    if kind == "gzip":
        packed = tmp_path / "cur.csv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        packed = tmp_path / "cur.zip"
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(plain, "cur.csv")
    assert read_all(packed).equals(read_all(plain))


@pytest.mark.parametrize("keep", [0.02, 0.7])  # cut inside the header probe, and far past it
def test_truncated_gzip_is_an_error(legacy_csv: WriteLegacy, tmp_path: Path, keep: float) -> None:
    plain = legacy_csv([{"lineItem/UnblendedCost": f"{i * 7919 % 100003}.{i}"} for i in range(40_000)])
    data = gzip.compress(plain.read_bytes())
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CorruptFileError) as caught:
        read_all(broken)
    assert caught.value.file == str(broken)
    assert "truncated or corrupt compressed data" in caught.value.reason


def test_unknown_header(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("date,amount\n2023-11-01,3\n")
    with pytest.raises(UnknownFormatError) as caught:
        Reader(str(path))
    assert str(path) in str(caught.value)
    assert caught.value.reason == "not a recognised billing file (CUR, CUR 2.0 or FOCUS header expected)"
    assert "amount" not in str(caught.value)


def test_header_of_a_known_format_missing_a_required_column(tmp_path: Path) -> None:
    path = tmp_path / "cur.csv"
    path.write_text("lineItem/UsageAccountId,lineItem/UnblendedCost\n1,2\n")
    with pytest.raises(UnknownFormatError, match="lacks required column"):
        Reader(str(path))


def test_non_numeric_cost_names_row_and_column(legacy_csv: WriteLegacy) -> None:
    path = legacy_csv([{}, {}, {"lineItem/UnblendedCost": "12,5 USD"}, {}])
    with pytest.raises(InvalidNumberError) as caught:
        read_all(path)
    assert (caught.value.file, caught.value.row, caught.value.column) == (
        str(path),
        3,
        "lineItem/UnblendedCost",
    )


def test_row_numbers_count_across_batches(legacy_csv: WriteLegacy) -> None:
    rows = [{}] * 3000 + [{"lineItem/UsageAmount": "1.0000000000000000001"}]
    path = legacy_csv(rows)
    with pytest.raises(InvalidNumberError) as caught:
        read_all(path, block_size=4096, batch_rows=100)
    assert (caught.value.row, caught.value.column) == (3001, "lineItem/UsageAmount")


def test_mixed_currencies(legacy_csv: WriteLegacy) -> None:
    path = legacy_csv([{}, {}, {"lineItem/CurrencyCode": "EUR"}])
    with pytest.raises(MixedCurrencyError) as caught:
        read_all(path)
    assert (caught.value.row, caught.value.column) == (3, "lineItem/CurrencyCode")
    assert "'EUR'" in caught.value.reason


def test_empty_file_and_header_only(legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="0 bytes"):
        Reader(str(empty))
    with pytest.raises(EmptyFileError, match="no data rows"):
        read_all(legacy_csv([]))


def test_amortised_cost_per_line_item_type(legacy_csv: WriteLegacy) -> None:
    rows = [
        {"lineItem/LineItemType": "Usage", "lineItem/UnblendedCost": "2"},
        {
            "lineItem/LineItemType": "DiscountedUsage",
            "lineItem/UnblendedCost": "3",
            "reservation/ReservationARN": "arn:ri",
            "reservation/EffectiveCost": "1.25",
        },
        {
            "lineItem/LineItemType": "RIFee",
            "lineItem/UnblendedCost": "100",
            "reservation/ReservationARN": "arn:ri",
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "4.5",
            "reservation/UnusedRecurringFee": "0.5",
        },
        {
            "lineItem/LineItemType": "Fee",
            "lineItem/UnblendedCost": "900",
            "reservation/ReservationARN": "arn:ri",
        },
        {
            "lineItem/LineItemType": "SavingsPlanCoveredUsage",
            "lineItem/UnblendedCost": "3",
            "savingsPlan/SavingsPlanARN": "arn:sp",
            "savingsPlan/SavingsPlanEffectiveCost": "2.125",
        },
        {
            "lineItem/LineItemType": "SavingsPlanNegation",
            "lineItem/UnblendedCost": "-3",
            "savingsPlan/SavingsPlanARN": "arn:sp",
        },
        {
            "lineItem/LineItemType": "SavingsPlanRecurringFee",
            "lineItem/UnblendedCost": "10",
            "savingsPlan/TotalCommitmentToDate": "10",
            "savingsPlan/UsedCommitment": "7.75",
        },
        {"lineItem/LineItemType": "Tax", "lineItem/UnblendedCost": "0.7"},
    ]
    table = read_all(legacy_csv(rows))
    assert table.column("EffectiveCost").to_pylist() == [
        Decimal(x) for x in ("2", "1.25", "5.0", "0", "2.125", "0", "2.25", "0.7")
    ]
    assert table.column("ChargeCategory").to_pylist() == [
        "Usage",
        "Usage",
        "Purchase",
        "Purchase",
        "Usage",
        "Credit",
        "Purchase",
        "Tax",
    ]
    assert table.column("BilledCost").to_pylist()[5] == Decimal(-3)


def test_tags_become_one_sparse_map(legacy_csv: WriteLegacy) -> None:
    rows = [
        {"resourceTags/user:Team": "data"},
        {},
        {"resourceTags/user:Team": "web", "resourceTags/aws:createdBy": "x"},
    ]
    table = read_all(legacy_csv(rows))
    assert table.column("Tags").to_pylist() == [
        [("user:Team", "data")],
        [],
        [("user:Team", "web"), ("aws:createdBy", "x")],
    ]


def test_optional_columns_absent_read_as_null(legacy_csv: WriteLegacy) -> None:
    header = [
        "bill/BillingPeriodStartDate",
        "lineItem/UsageAccountId",
        "lineItem/LineItemType",
        "lineItem/UnblendedCost",
        "lineItem/CurrencyCode",
    ]
    table = read_all(legacy_csv([{}], header=header))
    row = table.to_pylist()[0]
    assert row["BilledCost"] == Decimal("1.5")
    assert row["ServiceName"] is None
    assert row["ListCost"] is None
    assert row["Tags"] == []


CUR2_ROW = {
    "bill_billing_period_start_date": "2024-02-01T00:00:00Z",
    "bill_payer_account_id": "999",
    "line_item_usage_account_id": "123",
    "line_item_line_item_type": "Usage",
    "line_item_unblended_cost": "1.5E-7",
    "line_item_currency_code": "EUR",
    "line_item_product_code": "AmazonS3",
    "product": json.dumps({"product_name": "Amazon S3", "region": "eu-west-1"}),
    "resource_tags": json.dumps({"user_team": "data"}),
    "line_item_usage_start_date": "2024-02-03T00:00:00Z",
}


def test_cur2_csv(tmp_path: Path) -> None:
    path = tmp_path / "cur2.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CUR2_ROW))
        writer.writeheader()
        writer.writerow(CUR2_ROW)
    reader = Reader(str(path))
    row = pa.Table.from_batches(list(reader)).to_pylist()[0]
    assert reader.format is Format.CUR2
    assert row["BilledCost"] == Decimal("1.5E-7")
    assert (row["ServiceName"], row["RegionId"], row["Tags"]) == (
        "Amazon S3",
        "eu-west-1",
        [("user_team", "data")],
    )


def test_cur2_parquet_with_map_columns_and_doubles(tmp_path: Path) -> None:
    path = tmp_path / "cur2.parquet"
    table = pa.table(
        {
            "bill_billing_period_start_date": pa.array([datetime(2024, 2, 1)], pa.timestamp("ms")),
            "bill_payer_account_id": ["999"],
            "line_item_usage_account_id": ["123"],
            "line_item_line_item_type": ["Usage"],
            "line_item_unblended_cost": [1.5e-7],
            "line_item_currency_code": ["EUR"],
            "product": pa.array([[("product_name", "Amazon S3")]], pa.map_(pa.string(), pa.string())),
            "resource_tags": pa.array([[("user_team", "data")]], pa.map_(pa.string(), pa.string())),
        }
    )
    pq.write_table(table, path)
    row = read_all(path).to_pylist()[0]
    assert row["BilledCost"] == Decimal("1.5E-7")
    assert row["ServiceName"] == "Amazon S3"
    assert row["Tags"] == [("user_team", "data")]
    assert row["BillingPeriodStart"].isoformat() == "2024-02-01T00:00:00+00:00"


def test_focus_parquet(tmp_path: Path) -> None:
    source = shared_file("focus/focus-1.0-sample.csv")
    csv_table = read_all(source)
    path = tmp_path / "focus.parquet"
    with source.open(newline="") as handle:
        records = [{k: None if v == "NULL" else v for k, v in row.items()} for row in csv.DictReader(handle)]
    raw = pa.Table.from_pylist(records)
    pq.write_table(raw, path)
    parquet_table = read_all(path)
    assert parquet_table.column("BilledCost").equals(csv_table.column("BilledCost"))
    assert parquet_table.column("SubAccountId").equals(csv_table.column("SubAccountId"))


FOCUS_HEADER = [
    "BillingAccountId",
    "SubAccountId",
    "BillingPeriodStart",
    "ChargeCategory",
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ServiceName",
]
FOCUS_ROW = {
    "BillingAccountId": "999",
    "SubAccountId": "123",
    "BillingPeriodStart": "2024-09-01T00:00:00Z",
    "ChargeCategory": "Usage",
    "BillingCurrency": "USD",
    "BilledCost": "2.5",
    "EffectiveCost": "2.5",
    "ServiceName": "Compute",
}


def write_focus(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    header = header or FOCUS_HEADER
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([{**FOCUS_ROW, **row}.get(name, "") for name in header])
    return path


@pytest.mark.parametrize("column", ["BilledCost", "SubAccountId", "ServiceName"])
def test_a_duplicated_column_refuses_the_file(tmp_path: Path, column: str) -> None:
    path = write_focus(tmp_path / "dup.csv", [{}] * 3, [*FOCUS_HEADER, column])
    with pytest.raises(DuplicateColumnError) as caught:
        read_all(path)
    assert (caught.value.file, caught.value.row, caught.value.column) == (str(path), 0, column)


def test_a_duplicated_legacy_cost_or_tag_column_refuses_the_file(legacy_csv: WriteLegacy) -> None:
    for column in ("lineItem/UnblendedCost", "resourceTags/user:Team"):
        path = legacy_csv([{column: "9"}], header=[*LEGACY_HEADER, column])
        with pytest.raises(DuplicateColumnError) as caught:
            read_all(path)
        assert (caught.value.row, caught.value.column) == (0, column)


def test_a_duplicated_parquet_column_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    names = [*FOCUS_HEADER, "BilledCost"]
    pq.write_table(pa.Table.from_arrays([pa.array([{**FOCUS_ROW}.get(n, "7")]) for n in names], names=names), path)
    with pytest.raises(DuplicateColumnError) as caught:
        read_all(path)
    assert (caught.value.row, caught.value.column) == (0, "BilledCost")


@pytest.mark.parametrize("column", ["BilledCost", "EffectiveCost", "ChargeCategory", "BillingCurrency"])
def test_an_empty_required_focus_cell_names_file_row_and_column(tmp_path: Path, column: str) -> None:
    path = write_focus(tmp_path / "empty.csv", [{}, {}, {column: ""}, {}])
    with pytest.raises(InvalidValueError) as caught:
        read_all(path)
    assert (caught.value.file, caught.value.row, caught.value.column) == (str(path), 3, column)
    assert caught.value.reason == "value is required"


@pytest.mark.parametrize("column", ["lineItem/UnblendedCost", "lineItem/LineItemType", "lineItem/UsageAccountId"])
def test_an_empty_required_legacy_cell_names_file_row_and_column(legacy_csv: WriteLegacy, column: str) -> None:
    path = legacy_csv([{}] * 2999 + [{column: ""}])
    with pytest.raises(InvalidValueError) as caught:
        read_all(path, block_size=4096, batch_rows=100)
    assert (caught.value.row, caught.value.column) == (3000, column)


def test_focus_without_sub_account_column_uses_the_billing_account(tmp_path: Path) -> None:
    header = [name for name in FOCUS_HEADER if name != "SubAccountId"]
    table = read_all(write_focus(tmp_path / "no-sub.csv", [{}, {"BillingAccountId": "888"}], header))
    assert table.column("SubAccountId").to_pylist() == ["999", "888"]
    assert table.column("BilledCost").to_pylist() == [Decimal("2.5"), Decimal("2.5")]


def test_focus_without_any_account_is_refused_precisely(tmp_path: Path) -> None:
    header = [name for name in FOCUS_HEADER if name not in ("SubAccountId", "BillingAccountId")]
    path = write_focus(tmp_path / "no-account.csv", [{}], header)
    with pytest.raises(UnknownFormatError, match=r"lacks required column\(s\) SubAccountId or BillingAccountId"):
        read_all(path)
    both_empty = write_focus(tmp_path / "empty-account.csv", [{}, {"SubAccountId": "", "BillingAccountId": ""}])
    with pytest.raises(InvalidValueError) as caught:
        read_all(both_empty)
    assert (caught.value.row, caught.value.column) == (2, "SubAccountId")


def test_non_ascii_text_in_one_chunk_is_read_exactly_and_invalid_utf8_is_refused(legacy_csv: WriteLegacy) -> None:
    # Chunks that are pure ASCII skip Arrow's UTF-8 check; the chunk holding "Zürich" must still be checked.
    rows = [{"product/ProductName": "Zürich" if i == 1500 else "EC2"} for i in range(3000)]
    path = legacy_csv(rows)
    names = [
        name
        for batch in Reader(str(path), block_size=8192, batch_rows=500)
        for name in batch["ServiceName"].to_pylist()
    ]
    assert names == [row["product/ProductName"] for row in rows]
    path.write_bytes(path.read_bytes().replace("Zürich".encode(), b"Z\xffrich"))
    with pytest.raises(CorruptFileError) as caught:
        sum(batch.num_rows for batch in Reader(str(path), block_size=8192, batch_rows=500))
    assert "invalid UTF8" in str(caught.value)


def test_ascii_is_proved_over_the_parsed_view() -> None:
    import array

    from cost.readers import _is_ascii

    assert _is_ascii(memoryview(bytearray(b"a,b\n1,2\n\0\0")))
    assert _is_ascii(memoryview(b""))
    assert not _is_ascii(memoryview(bytearray(b"a,b\n1,\xc3\xa9\n")))
    assert not _is_ascii(memoryview(bytearray(b"\x80" + b"a" * 100)))
    spare_room = bytearray(b"a,b\n" + b"\xff")  # a recycled buffer's old bytes past the view: not parsed
    assert _is_ascii(memoryview(spare_room)[:4])
    assert not _is_ascii(memoryview(spare_room)[2:])
    assert not _is_ascii(memoryview(array.array("b", b"abc")))  # not bytes or a bytearray: not proved
