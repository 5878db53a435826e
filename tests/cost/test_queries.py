from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from cost.imports import import_file
from cost.queries import CostFilter, Dimension, Metric, Tag, aggregate
from cost.scope import AccountScope, scope_from_database_rows
from cost.store import CostStore
from tests.plugins.cost_files import OPERATOR, WriteLegacy, scope_of

A, B = "111111111111", "222222222222"


@pytest.fixture
def loaded(store: CostStore, legacy_csv: WriteLegacy) -> CostStore:
    rows = [
        {
            "lineItem/UsageAccountId": A,
            "lineItem/UnblendedCost": "1.000000000000000001",
            "resourceTags/user:Team": "data",
            "lineItem/UsageStartDate": "2023-11-02T05:00:00Z",
        },
        {
            "lineItem/UsageAccountId": A,
            "lineItem/UnblendedCost": "2E-18",
            "product/ProductName": "Amazon S3",
            "lineItem/UsageStartDate": "2023-11-03T05:00:00Z",
        },
        {
            "lineItem/UsageAccountId": A,
            "lineItem/LineItemType": "SavingsPlanCoveredUsage",
            "lineItem/UnblendedCost": "3",
            "savingsPlan/SavingsPlanEffectiveCost": "2",
            "resourceTags/user:Team": "web",
            "lineItem/UsageStartDate": "2023-11-02T06:00:00Z",
            "pricing/publicOnDemandCost": "3.5",
        },
        {"lineItem/UsageAccountId": B, "lineItem/UnblendedCost": "100"},
    ]
    import_file(str(legacy_csv(rows)), store)
    december = [
        {
            "lineItem/UsageAccountId": A,
            "bill/BillingPeriodStartDate": "2023-12-01T00:00:00Z",
            "lineItem/UnblendedCost": "10",
        }
    ]
    import_file(str(legacy_csv(december)), store)
    return store


def test_scope_cannot_be_built_by_hand() -> None:
    with pytest.raises(TypeError):
        AccountScope({A})
    with pytest.raises(TypeError):
        AccountScope({A}, _token=object())
    scope = scope_of(A)
    with pytest.raises(AttributeError):
        scope._accounts = frozenset({B})  # type: ignore[misc]
    with pytest.raises(TypeError):
        pickle.dumps(scope)


def test_scope_from_rows_of_several_shapes() -> None:
    class Row:
        def __init__(self, account_id: str) -> None:
            self.account_id = account_id
            self.operator_id = OPERATOR

    scope = scope_from_database_rows([{"sub_account_id": A, "operator_id": OPERATOR}, Row(B)])
    assert scope.accounts == {A, B}
    assert scope.accounts_of(OPERATOR) == {A, B}
    with pytest.raises(ValueError, match="empty"):
        scope_from_database_rows([{"account_id": None, "operator_id": OPERATOR}])
    # An account id alone names no store: the operator is required, as a UUID.
    with pytest.raises(ValueError, match="operator"):
        scope_from_database_rows([{"account_id": A}])
    with pytest.raises(ValueError, match="operator"):
        scope_from_database_rows([{"account_id": A, "operator_id": str(OPERATOR)}])


def test_query_reads_only_partitions_in_scope(loaded: CostStore, tmp_path: Path) -> None:
    # Ruin B's data file: a query that opened it would fail. A-only queries must not notice.
    for path in (tmp_path / "store").rglob(f"sub_account_id={B}/*.parquet"):
        path.write_bytes(b"not parquet")
    rows = aggregate(loaded, scope_of(A), period="2023-11", group_by=[Dimension.ACCOUNT])
    assert [r["account"] for r in rows] == [A]
    with pytest.raises(pa.ArrowInvalid, match="Parquet"):
        aggregate(loaded, scope_of(A, B), period="2023-11", group_by=[Dimension.ACCOUNT])


def test_scope_lacking_an_account_returns_none_of_its_cost(loaded: CostStore) -> None:
    everything = aggregate(loaded, scope_of(A, B), period="2023-11", group_by=[Dimension.ACCOUNT])
    assert {r["account"] for r in everything} == {A, B}
    only_a = aggregate(loaded, scope_of(A, "999"), period="2023-11", group_by=[Dimension.SERVICE])
    assert sum(r["billed"] for r in only_a) == Decimal("4.000000000000000003")
    # A filter naming B cannot widen the scope.
    assert aggregate(loaded, scope_of(A), period="2023-11", filter=CostFilter(accounts={B})) == [{"billed": Decimal(0)}]


def test_empty_scope_returns_nothing(loaded: CostStore) -> None:
    assert aggregate(loaded, scope_from_database_rows([]), period="2023-11") == []


def test_exact_sums_and_metrics(loaded: CostStore) -> None:
    [row] = aggregate(
        loaded,
        scope_of(A),
        period="2023-11",
        metrics=[Metric.BILLED, Metric.EFFECTIVE, Metric.LIST, Metric.NET],
    )
    assert row == {
        "billed": Decimal("4.000000000000000003"),
        "effective": Decimal("3.000000000000000003"),
        "list": Decimal("3.5"),
        "net": Decimal("4.000000000000000003"),
    }


def test_group_by_dimensions(loaded: CostStore) -> None:
    scope = scope_of(A)
    by_day = aggregate(loaded, scope, period="2023-11", group_by=[Dimension.DAY])
    assert [(r["day"], r["billed"]) for r in by_day] == [
        (date(2023, 11, 2), Decimal("4.000000000000000001")),
        (date(2023, 11, 3), Decimal("2E-18")),
    ]
    by_tag = aggregate(loaded, scope, period="2023-11", group_by=[Tag("user:Team")])
    assert [(r["tag:user:Team"], r["billed"]) for r in by_tag] == [
        ("data", Decimal("1.000000000000000001")),
        ("web", Decimal(3)),
        (None, Decimal("2E-18")),
    ]
    by_type = aggregate(loaded, scope, period="2023-11", group_by=[Dimension.LINE_ITEM_TYPE, Dimension.CHARGE_CATEGORY])
    assert [(r["line_item_type"], r["charge_category"]) for r in by_type] == [
        ("SavingsPlanCoveredUsage", "Usage"),
        ("Usage", "Usage"),
    ]
    by_month = aggregate(loaded, scope, period_from="2023-10", period_to="2023-12", group_by=[Dimension.MONTH])
    assert [(r["month"], r["billed"]) for r in by_month] == [
        ("2023-11", Decimal("4.000000000000000003")),
        ("2023-12", Decimal(10)),
    ]
    regions = aggregate(loaded, scope, period="2023-11", group_by=[Dimension.REGION, Dimension.RESOURCE])
    assert {r["region"] for r in regions} == {"us-east-1"}


def test_filters(loaded: CostStore) -> None:
    scope = scope_of(A)
    s3 = aggregate(loaded, scope, period="2023-11", filter=CostFilter(services={"Amazon S3"}))
    assert s3 == [{"billed": Decimal("2E-18")}]
    web = aggregate(loaded, scope, period="2023-11", filter=CostFilter(tags={"user:Team": {"web"}}))
    assert web == [{"billed": Decimal(3)}]


def test_period_arguments_are_checked(loaded: CostStore) -> None:
    with pytest.raises(ValueError, match="period"):
        aggregate(loaded, scope_of(A))
    with pytest.raises(ValueError, match="not both"):
        aggregate(loaded, scope_of(A), period="2023-11", period_from="2023-10")
    with pytest.raises(TypeError):
        aggregate(loaded, frozenset({A}), period="2023-11")  # type: ignore[arg-type]
