"""Late data for a closed (locked) period: refused by default, re-homed as corrections on request."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from cost.errors import LockedPeriodError
from cost.imports import LateData, Rehomed, import_file, next_open_period
from cost.store import CostStore
from tests.plugins.cost_files import WriteLegacy, listing


def _start(period: str) -> str:
    return f"{period}-01T00:00:00.000Z"


def _rows(period: str, accounts: tuple[str, ...], count: int, seed: int) -> list[dict[str, str]]:
    rows = []
    for i in range(count):
        day = 1 + i % 27
        rows.append(
            {
                "bill/BillingPeriodStartDate": _start(period),
                "lineItem/UsageAccountId": accounts[i % len(accounts)],
                "lineItem/UsageStartDate": f"{period}-{day:02d}T00:00:00Z",
                "lineItem/UsageEndDate": f"{period}-{day:02d}T01:00:00Z",
                "lineItem/UnblendedCost": str(Decimal(seed * 1000 + i * 7919 % 100003).scaleb(-(i % 11))),
                "lineItem/LineItemType": "Usage",
                "resourceTags/user:Team": f"team-{i % 3}",
            }
        )
    return rows


def _stored(store: CostStore) -> pa.Table:
    """Every row the catalog currently publishes, with the period and account of its partition."""
    tables = []
    for f in store.files(accounts={k.split("/", 1)[1] for k in store.catalog()["partitions"]}):
        table = ds.dataset(f.path, format="parquet", filesystem=store.filesystem).to_table()
        tables.append(table.append_column("_period", pa.array([f.period] * table.num_rows, pa.string())))
    return pa.concat_tables(tables)


def test_next_open_period_skips_consecutive_locks() -> None:
    assert next_open_period("2023-10", set()) == "2023-11"
    assert next_open_period("2023-11", {"2023-12", "2024-01"}) == "2024-02"
    assert next_open_period("2023-12", {"2023-11"}) == "2024-01"


def test_default_rejects_and_publishes_nothing(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    import_file(str(legacy_csv(_rows("2023-12", ("111111111111",), 5, 1))), store)
    before = listing(tmp_path / "store")
    path = legacy_csv(_rows("2023-12", ("111111111111",), 50, 2) + _rows("2023-11", ("111111111111",), 5, 3))
    for mode in ({}, {"late_data": LateData.REJECT}):
        with pytest.raises(LockedPeriodError) as caught:
            import_file(str(path), store, locked_periods={"2023-11"}, **mode)
        assert (caught.value.file, caught.value.period) == (str(path), "2023-11")
        assert listing(tmp_path / "store") == before


def test_corrections_rehome_exactly_the_locked_rows(store: CostStore, legacy_csv: WriteLegacy, tmp_path: Path) -> None:
    accounts = ("111111111111", "222222222222", "333333333333")
    # The regular January file of the same source is already in the store; corrections must add to it.
    january = _rows("2024-01", accounts, 40, 9)
    import_file(str(legacy_csv(january)), store)
    locked = {"2023-09", "2023-10", "2023-11", "2023-12"}
    late = {p: _rows(p, accounts, n, s) for p, n, s in (("2023-10", 31, 1), ("2023-11", 17, 2), ("2024-02", 23, 3))}
    raw = late["2023-10"] + late["2024-02"] + late["2023-11"]
    result = import_file(str(legacy_csv(raw)), store, locked_periods=locked, late_data=LateData.CORRECTIONS)

    assert not result.already_imported
    assert result.rows == len(raw)
    # 2023-10 skips the locked 2023-11 and 2023-12: both land in 2024-01, the first open period.
    assert result.rehomed == (Rehomed("2023-10", "2024-01", 31), Rehomed("2023-11", "2024-01", 17))
    assert result.periods == ("2024-01", "2024-02")

    stored = _stored(store)
    assert not set(stored.column("_period").to_pylist()) & locked  # a closed period never changes
    corrections = stored.filter(pc.equal(stored.column("ChargeClass"), "Correction"))
    assert corrections.num_rows == 31 + 17
    assert set(corrections.column("_period").to_pylist()) == {"2024-01"}
    assert set(corrections.column("BillingPeriodStart").to_pylist()) == {datetime(2024, 1, 1, tzinfo=UTC)}
    # Everything else unchanged: charge period, amounts, account, tags.
    expected = Counter(
        (
            r["lineItem/UsageStartDate"],
            r["lineItem/UsageEndDate"],
            Decimal(r["lineItem/UnblendedCost"]),
            r["lineItem/UsageAccountId"],
            r["resourceTags/user:Team"],
        )
        for r in late["2023-10"] + late["2023-11"]
    )
    got = Counter(
        (
            r["ChargePeriodStart"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            r["ChargePeriodEnd"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            r["BilledCost"],
            r["SubAccountId"],
            dict(r["Tags"]).get("user:Team"),
        )
        for r in corrections.to_pylist()
    )
    assert got == expected
    # Regular rows keep their class and period; January's regular rows are still there.
    regular = stored.filter(pc.invert(pc.fill_null(pc.equal(stored.column("ChargeClass"), "Correction"), False)))
    assert Counter(regular.column("_period").to_pylist()) == {"2024-01": len(january), "2024-02": 23}
    # Totals preserved exactly, per original period and overall.
    total = pc.sum(stored.column("BilledCost")).as_py()
    assert total == sum(Decimal(r["lineItem/UnblendedCost"]) for r in january + raw)
    assert pc.sum(corrections.column("BilledCost")).as_py() == sum(
        Decimal(r["lineItem/UnblendedCost"]) for r in late["2023-10"] + late["2023-11"]
    )

    # A regular January import of the source replaces its regular rows but leaves the corrections.
    import_file(str(legacy_csv(_rows("2024-01", accounts, 5, 4))), store)
    after = _stored(store)
    classes = Counter(
        (p, c)
        for p, c in zip(after.column("_period").to_pylist(), after.column("ChargeClass").to_pylist(), strict=True)
    )
    assert classes[("2024-01", "Correction")] == 48
    assert sum(n for (p, c), n in classes.items() if p == "2024-01" and c != "Correction") == 5


def test_corrections_of_a_file_without_late_rows_change_nothing(store: CostStore, legacy_csv: WriteLegacy) -> None:
    path = legacy_csv(_rows("2023-12", ("111111111111",), 5, 1))
    result = import_file(str(path), store, locked_periods={"2023-11"}, late_data=LateData.CORRECTIONS)
    assert result.rehomed == ()
    assert result.periods == ("2023-12",)
    assert set(_stored(store).column("ChargeClass").to_pylist()) != {"Correction"}


def test_duplicate_stays_a_duplicate_whatever_the_mode(store: CostStore, legacy_csv: WriteLegacy) -> None:
    path = legacy_csv(_rows("2023-11", ("111111111111",), 5, 1) + _rows("2023-12", ("111111111111",), 5, 2))
    with pytest.raises(LockedPeriodError):
        import_file(str(path), store, locked_periods={"2023-11"})
    first = import_file(str(path), store, locked_periods={"2023-11"}, late_data=LateData.CORRECTIONS)
    assert first.rehomed == (Rehomed("2023-11", "2023-12", 5),)
    again = import_file(str(path), store, locked_periods={"2023-11"})
    assert again.already_imported
    assert again.rehomed == first.rehomed
    assert _stored(store).num_rows == 10
