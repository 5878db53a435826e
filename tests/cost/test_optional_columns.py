"""Every optional column a FOCUS or CUR 2.0 file may lack: the file imports, every dimension and metric can be
queried, and the billed total is unchanged; a required column is refused by its name. Never an internal error."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from cost import Dimension, Metric, aggregate, cur2, focus, import_file
from cost.errors import UnknownFormatError
from cost.formats import REQUIRED, Format
from cost.store import CostStore
from tests.plugins.cost_files import scope_of, shared_file

CUR2_ROWS = [
    {
        "bill_billing_period_start_date": "2024-02-01T00:00:00Z",
        "bill_payer_account_id": "999",
        "line_item_usage_account_id": "123",
        "line_item_line_item_type": "Usage",
        "line_item_unblended_cost": f"{i}.25",
        "line_item_net_unblended_cost": f"{i}.2",
        "pricing_public_on_demand_cost": "3",
        "line_item_usage_amount": "1",
        "line_item_currency_code": "EUR",
        "line_item_product_code": "AmazonS3",
        "product_product_name": "Amazon S3",
        "product_sku": "SKU",
        "line_item_resource_id": "r-1",
        "pricing_unit": "GB",
        "product_region_code": "eu-west-1",
        "line_item_usage_type": "TimedStorage",
        "line_item_operation": "Put",
        "line_item_usage_start_date": "2024-02-03T00:00:00Z",
        "line_item_usage_end_date": "2024-02-03T01:00:00Z",
        "product": json.dumps({"product_name": "Amazon S3", "region": "eu-west-1"}),
        "resource_tags": json.dumps({"user_team": "data"}),
    }
    for i in range(5)
]
_FOCUS_OPTIONAL = sorted(set(focus.MONEY_COLUMNS + focus.TEXT_COLUMNS) - REQUIRED[Format.FOCUS])
_CUR2_OPTIONAL = sorted(set(CUR2_ROWS[0]) - REQUIRED[Format.CUR2])


def _without(rows: list[dict[str, str]], column: str, path: Path) -> Path:
    header = [c for c in rows[0] if c != column]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _focus_rows() -> list[dict[str, str]]:
    with shared_file("focus/focus-1.0-sample.csv").open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _everything(store: CostStore, accounts: list[str]) -> Decimal:
    scope = scope_of(*accounts)
    window = {"period_from": "2024-01", "period_to": "2024-12"}
    for dimension in Dimension:
        aggregate(store, scope, group_by=[dimension], metrics=list(Metric), **window)
    rows = aggregate(store, scope, metrics=[Metric.BILLED], **window)
    return sum((r["billed"] or Decimal(0) for r in rows), Decimal(0))


@pytest.mark.parametrize("column", _FOCUS_OPTIONAL)
def test_a_focus_file_without_an_optional_column_imports(tmp_path: Path, store: CostStore, column: str) -> None:
    rows = _focus_rows()
    result = import_file(str(_without(rows, column, tmp_path / "focus.csv")), store)
    expected = sum((Decimal(r["BilledCost"]) for r in rows if r["BilledCost"] not in ("", "NULL")), Decimal(0))
    assert _everything(store, list(result.accounts)) == expected


@pytest.mark.parametrize("column", _CUR2_OPTIONAL)
def test_a_cur2_file_without_an_optional_column_imports(tmp_path: Path, store: CostStore, column: str) -> None:
    assert column in cur2.MONEY_COLUMNS + cur2.TEXT_COLUMNS
    result = import_file(str(_without(CUR2_ROWS, column, tmp_path / "cur2.csv")), store)
    assert _everything(store, list(result.accounts)) == sum(Decimal(r["line_item_unblended_cost"]) for r in CUR2_ROWS)


@pytest.mark.parametrize(("rows", "column"), [*((CUR2_ROWS, c) for c in sorted(REQUIRED[Format.CUR2]))])
def test_a_required_column_missing_is_refused_by_its_name(
    tmp_path: Path, store: CostStore, rows: list[dict[str, str]], column: str
) -> None:
    with pytest.raises(UnknownFormatError) as refused:
        import_file(str(_without(rows, column, tmp_path / "file.csv")), store)
    assert column in refused.value.reason


@pytest.mark.parametrize("column", sorted(REQUIRED[Format.FOCUS]))
def test_a_required_focus_column_missing_is_refused_by_its_name(tmp_path: Path, store: CostStore, column: str) -> None:
    with pytest.raises(UnknownFormatError) as refused:
        import_file(str(_without(_focus_rows(), column, tmp_path / "focus.csv")), store)
    assert column in refused.value.reason
