from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

import pyarrow.fs as pafs
import pytest

import cost.imports
from cost.errors import InvalidNumberError, LockedPeriodError
from cost.imports import import_file
from cost.partitions import PartitionedWriter
from cost.queries import Dimension, aggregate
from cost.readers import Reader
from cost.store import CostStore
from tests.plugins.cost_files import OPERATOR, WriteLegacy, listing, scope_of
from tests.plugins.s3server import moto_s3

NOVEMBER = "2023-11-01T00:00:00.000Z"
DECEMBER = "2023-12-01T00:00:00.000Z"


def billed_by_account(store: CostStore, *accounts: str, period: str = "2023-11") -> dict[str, Decimal]:
    rows = aggregate(store, scope_of(*accounts), period=period, group_by=[Dimension.ACCOUNT])
    return {row["account"]: row["billed"] for row in rows}


def test_import_publishes_hive_partitions(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    path = legacy_csv(
        [
            {"lineItem/UsageAccountId": "111111111111"},
            {"lineItem/UsageAccountId": "222222222222"},
            {"lineItem/UsageAccountId": "222222222222", "lineItem/UnblendedCost": "2.5E-1"},
        ]
    )
    progress: list[tuple[int, int]] = []
    result = import_file(str(path), store, on_progress=lambda b, r: progress.append((b, r)))
    assert (result.rows, result.periods, result.accounts) == (
        3,
        ("2023-11",),
        ("111111111111", "222222222222"),
    )
    assert (result.currency, result.format, result.bytes) == ("USD", "legacy-cur", path.stat().st_size)
    assert progress[-1] == (path.stat().st_size, 3)
    files = [name for name, _ in listing(tmp_path / "store") if name.endswith(".parquet")]
    assert len(files) == 2
    assert all("/billing_period=2023-11/sub_account_id=" in name for name in files)
    assert billed_by_account(store, "111111111111", "222222222222") == {
        "111111111111": Decimal("1.5"),
        "222222222222": Decimal("1.75"),
    }


def test_reimport_same_content_is_a_no_op(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    path = legacy_csv([{}])
    first = import_file(str(path), store)
    before = listing(tmp_path / "store")
    copy = tmp_path / "same-content-other-name.csv"
    copy.write_bytes(path.read_bytes())
    again = import_file(str(copy), store)
    assert again.already_imported
    assert again.digest == first.digest
    assert again.rows == first.rows
    assert listing(tmp_path / "store") == before


def test_locked_period_publishes_nothing(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    import_file(str(legacy_csv([{"bill/BillingPeriodStartDate": DECEMBER}])), store)
    before = listing(tmp_path / "store")
    path = legacy_csv([{"bill/BillingPeriodStartDate": DECEMBER}, {"bill/BillingPeriodStartDate": NOVEMBER}])
    with pytest.raises(LockedPeriodError) as caught:
        import_file(str(path), store, locked_periods={"2023-11"})
    assert (caught.value.file, caught.value.period) == (str(path), "2023-11")
    assert str(path) in str(caught.value)
    assert "2023-11" in str(caught.value)
    assert listing(tmp_path / "store") == before


@pytest.mark.parametrize("first_import", [True, False])
def test_failed_import_leaves_the_store_unchanged(
    store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path, first_import: bool
) -> None:
    if not first_import:
        import_file(str(legacy_csv([{}])), store)
    before = listing(tmp_path / "store")
    rows = [{"lineItem/UsageAccountId": str(100000000000 + i)} for i in range(3000)]
    rows.append({"lineItem/UnblendedCost": "n/a"})  # fails after partitions were already written
    with pytest.raises(InvalidNumberError):
        import_file(str(legacy_csv(rows)), store)
    assert listing(tmp_path / "store") == before


def test_newer_file_for_a_period_replaces_the_old_one(store: CostStore, legacy_csv: WriteLegacy) -> None:
    import_file(
        str(legacy_csv([{"lineItem/UsageAccountId": "111111111111"}, {"lineItem/UsageAccountId": "222222222222"}])),
        store,
    )
    import_file(str(legacy_csv([{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "7"}])), store)
    assert billed_by_account(store, "111111111111", "222222222222") == {"111111111111": Decimal(7)}
    # Another source (other payer) for the same partition adds to it instead of replacing it.
    import_file(
        str(
            legacy_csv(
                [
                    {
                        "lineItem/UsageAccountId": "111111111111",
                        "bill/PayerAccountId": "5",
                        "lineItem/UnblendedCost": "1",
                    }
                ]
            )
        ),
        store,
    )
    assert billed_by_account(store, "111111111111") == {"111111111111": Decimal(8)}
    # The replaced folder was in HEAD a moment ago: a reader may still be reading it.
    assert store.vacuum(in_progress=()) == []
    assert len(store.vacuum(in_progress=(), readers_grace_s=0)) == 1
    assert billed_by_account(store, "111111111111") == {"111111111111": Decimal(8)}


def test_s3_round_trip(legacy_csv: WriteLegacy, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    with moto_s3() as endpoint:
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        client = boto3.client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1", **keys)
        client.create_bucket(Bucket="costs")
        fs = pafs.S3FileSystem(
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
            endpoint_override=endpoint,
            scheme="http",
        )
        store = CostStore("costs/prefix", filesystem=fs).for_operator(OPERATOR)
        path = legacy_csv(
            [
                {"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "1.81E-8"},
                {"lineItem/UsageAccountId": "222222222222"},
            ]
        )
        result = import_file(str(path), store)
        assert result.accounts == ("111111111111", "222222222222")
        assert billed_by_account(store, "111111111111") == {"111111111111": Decimal("1.81E-8")}
        assert import_file(str(path), store).already_imported
        listed = client.list_objects_v2(Bucket="costs", Prefix="prefix/")["Contents"]
        names = sorted(item["Key"] for item in listed)
        assert f"prefix/operators/{OPERATOR}/_catalog/HEAD" in names
        data = [n for n in names if n.endswith(".parquet")]
        assert len(data) == 2
        assert all("/billing_period=2023-11/sub_account_id=" in n for n in data)
        # The same store through an s3:// URI, as configuration would give it.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        by_uri = CostStore(f"s3://costs/prefix?endpoint_override={endpoint}&scheme=http&region=us-east-1")
        assert billed_by_account(by_uri.for_operator(OPERATOR), "222222222222") == {"222222222222": Decimal("1.5")}
        client.close()


def test_progress_counts_compressed_bytes(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    import gzip

    plain = legacy_csv([{"lineItem/UnblendedCost": f"{i}E-9"} for i in range(3000)])
    packed = tmp_path / "cur.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    seen: list[tuple[int, int]] = []
    result = import_file(str(packed), store, on_progress=lambda b, r: seen.append((b, r)))
    assert result.bytes == packed.stat().st_size
    assert seen[-1] == (packed.stat().st_size, 3000)
    assert all(b <= packed.stat().st_size for b, _ in seen)
    assert [r for _, r in seen] == sorted(r for _, r in seen)


def test_a_partition_written_as_several_files_is_published_and_replaced_whole(
    store: CostStore, legacy_csv: WriteLegacy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The import's own writer, with row groups small enough that its files roll over (cost.partitions).
    small = functools.partial(PartitionedWriter, row_group_rows=100, sort_rows=100, max_open_row_groups=2)
    monkeypatch.setattr(cost.imports, "PartitionedWriter", small)
    monkeypatch.setattr(cost.imports, "Reader", functools.partial(Reader, block_size=8192, batch_rows=100))
    rows = [{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": f"{i}E-2"} for i in range(1200)]
    import_file(str(legacy_csv(rows)), store)
    [entry] = store.catalog()["partitions"]["2023-11/111111111111"].values()
    assert len(entry["files"]) > 1
    assert sum(f["rows"] for f in entry["files"]) == 1200
    assert billed_by_account(store, "111111111111") == {"111111111111": sum(Decimal(f"{i}E-2") for i in range(1200))}
    # The next import of the same source replaces every one of those files.
    again = [{"lineItem/UsageAccountId": "111111111111", "lineItem/UnblendedCost": "1"} for _ in range(3)]
    import_file(str(legacy_csv(again)), store)
    [entry] = store.catalog()["partitions"]["2023-11/111111111111"].values()
    assert [f["rows"] for f in entry["files"]] == [3]
    assert billed_by_account(store, "111111111111") == {"111111111111": Decimal(3)}
