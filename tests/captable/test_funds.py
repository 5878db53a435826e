from datetime import date
from decimal import Decimal

import pytest

from captable.funds import CashFlow, Defined, Undefined, fund_metrics, moic, xirr

D = Decimal


def test_xirr_excel_documentation_example() -> None:
    # Microsoft, "XIRR function" (https://support.microsoft.com/office/xirr-function-de1242ec-6477-445b-b11b-a303ad9adc9d)
    flows = [
        CashFlow(date(2008, 1, 1), D(-10000)),
        CashFlow(date(2008, 3, 1), D(2750)),
        CashFlow(date(2008, 10, 30), D(4250)),
        CashFlow(date(2009, 2, 15), D(3250)),
        CashFlow(date(2009, 4, 1), D(2750)),
    ]
    result = xirr(flows)
    assert isinstance(result, Defined)
    assert result.value == pytest.approx(D("0.373362535"), abs=D("1e-8"))


@pytest.mark.parametrize(
    ("amounts", "reason"),
    [
        ((-100, -50), "no sign change"),
        ((100, 50), "no sign change"),
        ((-100, 230, -132), "several IRRs"),  # roots at 10 % and 20 %
    ],
)
def test_xirr_undefined(amounts: tuple[int, ...], reason: str) -> None:
    flows = [CashFlow(date(2020 + i, 1, 1), D(a)) for i, a in enumerate(amounts)]
    result = xirr(flows)
    assert isinstance(result, Undefined)
    assert reason in result.reason


def test_two_sign_changes_with_one_root_is_defined() -> None:
    # three sign changes (Descartes allows 1 or 3 roots) but the NPV crosses zero once on the grid
    flows = [
        CashFlow(date(2020, 1, 1), D(-100)),
        CashFlow(date(2021, 1, 1), D(150)),
        CashFlow(date(2022, 1, 1), D(-10)),
        CashFlow(date(2023, 1, 1), D(10)),
    ]
    result = xirr(flows)
    assert isinstance(result, Defined)


def test_fund_multiples() -> None:
    calls = [CashFlow(date(2020, 1, 1), D(100)), CashFlow(date(2021, 1, 1), D(100))]
    distributions = [CashFlow(date(2023, 1, 1), D(150))]
    metrics = fund_metrics(calls, distributions, nav=D(250), as_of=date(2024, 1, 1))
    assert metrics.tvpi == Defined(D(2))
    assert metrics.dpi == Defined(D("0.75"))
    assert metrics.rvpi == Defined(D("1.25"))
    assert isinstance(metrics.irr, Defined)
    assert fund_metrics([], [], D(0), date(2024, 1, 1)).tvpi == Undefined("nothing paid in")
    assert moic(D(300), D(100)) == Defined(D(3))
