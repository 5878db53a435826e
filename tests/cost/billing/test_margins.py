from __future__ import annotations

from decimal import Decimal

from cost.billing.groups import Assignment, BillingGroups
from cost.billing.margins import margin_report
from cost.billing.plans import Adjustment, PlanVersion, Rule, Scope
from tests.plugins.billing_rows import JAN_START, row, table


def test_margin_per_tenant_service_and_period() -> None:
    groups = BillingGroups([Assignment("a1", "acme", JAN_START), Assignment("a2", "beta", JAN_START)])
    plans = {
        "acme": PlanVersion(id="acme-v1", rules=(Rule(Scope.SERVICE, Adjustment.MARKUP, Decimal(15), "AWS Lambda"),)),
        "beta": PlanVersion(id="beta-v1"),
    }
    rows = table(
        [
            row("100", SubAccountId="a1", ServiceName="AWS Lambda"),
            row("40", SubAccountId="a1", ServiceName="Amazon S3"),
            row("9", SubAccountId="a2", ServiceName="AWS Lambda"),
            row("1", SubAccountId="nobody"),
        ]
    )
    report = [
        (r.tenant_id, r.period, r.service, r.billed, r.cost, r.margin) for r in margin_report(rows, groups, plans)
    ]
    assert report == [
        ("acme", "2024-01", "AWS Lambda", Decimal("115"), Decimal("100"), Decimal("15")),
        ("acme", "2024-01", "Amazon S3", Decimal("40"), Decimal("40"), Decimal("0")),
        ("beta", "2024-01", "AWS Lambda", Decimal("9"), Decimal("9"), Decimal("0")),
    ]
