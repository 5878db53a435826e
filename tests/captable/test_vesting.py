from datetime import date
from decimal import Decimal

from captable.events import VestingEvent
from captable.ledger import Ledger
from captable.vesting import add_months, monthly_with_cliff, vested_quantity, vesting_status
from tests.plugins.ledgers import base_ledger, option

D = Decimal
TERMS = monthly_with_cliff("4y1y")


def test_cliff_then_monthly() -> None:
    start = date(2024, 1, 31)
    assert vested_quantity(D(4800), TERMS, start, date(2025, 1, 30)) == 0
    assert vested_quantity(D(4800), TERMS, start, date(2025, 1, 31)) == 1200
    assert vested_quantity(D(4800), TERMS, start, date(2025, 2, 28)) == 1300  # last day of a short month
    assert vested_quantity(D(4800), TERMS, start, date(2028, 1, 31)) == 4800
    assert vested_quantity(D(1000), TERMS, start, date(2025, 2, 28)) == 270  # 13/48 rounded down


def test_add_months_clips_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 13) == date(2025, 2, 28)


def test_status_from_ledger_uses_vesting_start_and_acceleration() -> None:
    base = base_ledger(option("g1", "o1", "emp", 4800, date(2024, 1, 1)))
    ledger = Ledger(
        issuer=base.issuer,
        stakeholders=base.stakeholders,
        stock_classes=base.stock_classes,
        stock_plans=base.stock_plans,
        vesting_terms=(TERMS,),
        events=(
            base.events[0].__class__(**{**_fields(base.events[0]), "vesting_terms_id": "4y1y"}),
            VestingEvent("vs", date(2024, 3, 1), "TX_VESTING_START", "o1", "start"),
            VestingEvent("acc", date(2026, 1, 1), "TX_VESTING_ACCELERATION", "o1", quantity=D(100)),
        ),
    )
    assert vesting_status(ledger, "o1", date(2025, 2, 28)).vested == 0
    status = vesting_status(ledger, "o1", date(2025, 3, 1))
    assert (status.vested, status.unvested) == (1200, 3600)
    # cliff on 2025-03-01, then April 2025 .. January 2026, plus the acceleration
    assert vesting_status(ledger, "o1", date(2026, 1, 1)).vested == 1200 + 10 * 100 + 100


def _fields(obj: object) -> dict[str, object]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}  # type: ignore[attr-defined]
