from datetime import date
from decimal import Decimal

from captable.events import Financing
from captable.funds import Defined
from captable.holdings import holding_metrics
from captable.ledger import Ledger
from tests.plugins.ledgers import base_ledger, stock, usd

D = Decimal


def test_holding_metrics_use_latest_financing_price() -> None:
    base = base_ledger(
        stock("i1", "s1", "alice", 8_000_000, date(2024, 1, 1)),
        stock("i2", "s2", "vc", 2_000_000, date(2024, 2, 1), stock_class="seriesA", price="1.00"),
    )
    ledger = Ledger(
        issuer=base.issuer,
        stakeholders=base.stakeholders,
        stock_classes=base.stock_classes,
        stock_plans=(),
        events=base.events,
        financings=(Financing("f1", date(2025, 1, 1), "Seed", (), usd(8_000_000), usd("3.00")),),
    )
    metrics = holding_metrics(ledger, ["vc"], date(2025, 6, 1))
    assert metrics.ownership == D("0.2")
    assert metrics.invested == 2_000_000
    assert metrics.latest_price is not None
    assert metrics.latest_price.source_id == "f1"
    assert metrics.holding_value == 6_000_000
    assert metrics.moic == Defined(D(3))
