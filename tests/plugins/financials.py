"""Financial statements, KPIs and KPI requests on top of the world fixture, seeded as the owner.

`startup` ("S") has a draft and a final of everything, `other_startup` ("O") too; `S` was asked for KPIs by
vc_active, vc_lacking_scope and (before its grant was revoked) vc_revoked. Every seeded row has a label such as
"S.final" or "S.draft.revenue", so that tests can name the rows they expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.plugins.world import World

# Table → the columns that identify a row.
KEYS: dict[str, tuple[str, ...]] = {
    "financial_reports": ("tenant_id", "id"),
    "financial_report_lines": ("tenant_id", "report_id", "line_key"),
    "kpi_definitions": ("tenant_id", "id"),
    "kpi_reports": ("tenant_id", "id"),
    "kpi_values": ("tenant_id", "report_id", "definition_id"),
    "kpi_requests": ("tenant_id", "id"),
}


@dataclass
class FinancialsWorld:
    world: World
    rows: dict[str, dict[tuple[Any, ...], str]] = field(default_factory=lambda: {t: {} for t in KEYS})
    ids: dict[str, UUID] = field(default_factory=dict)

    def label(self, table: str, key: tuple[Any, ...]) -> str:
        return self.rows[table].get(key, f"unknown {key}")

    def labels(self, table: str) -> set[str]:
        return set(self.rows[table].values())


def _insert(conn: psycopg.Connection, seed: FinancialsWorld, table: str, label: str, values: dict[str, Any]) -> UUID:
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    key_columns = KEYS[table]
    row = conn.execute(
        f"insert into {table} ({columns}) values ({marks}) returning {', '.join(key_columns)}",
        tuple(values.values()),
    ).fetchone()
    assert row is not None
    seed.rows[table][tuple(row)] = label
    return row[1]  # the id of a report, definition or request


def seed_financials(conn: psycopg.Connection, world: World) -> FinancialsWorld:
    seed = FinancialsWorld(world)
    with conn.transaction():
        for company in ("startup", "other_startup"):
            tenant, c = world.tenants[company], "S" if company == "startup" else "O"
            definitions = {}
            for key, unit, currency in (("arr", "currency", "JPY"), ("headcount", "count", None)):
                definitions[key] = _insert(
                    conn,
                    seed,
                    "kpi_definitions",
                    f"{c}.{key}",
                    {"tenant_id": tenant, "key": key, "name": key.upper(), "unit": unit, "currency": currency},
                )
                seed.ids[f"{c}.def.{key}"] = definitions[key]
            if company == "startup":
                seed.ids["S.def.customers"] = _insert(
                    conn,
                    seed,
                    "kpi_definitions",
                    "S.customers",
                    {"tenant_id": tenant, "key": "customers", "name": "Customers", "unit": "count"},
                )
            for status, month in (("final", "2024-01"), ("draft", "2024-02")):
                report = _insert(
                    conn,
                    seed,
                    "financial_reports",
                    f"{c}.{status}",
                    {
                        "tenant_id": tenant,
                        "statement": "profit_and_loss",
                        "period_start": f"{month}-01",
                        "period_end": f"{month}-28",
                        "currency": "JPY",
                    },
                )
                seed.ids[f"{c}.fin.{status}"] = report
                for position, (key, amount) in enumerate((("revenue", "1000.5000"), ("cost", "-400")), start=1):
                    _insert(
                        conn,
                        seed,
                        "financial_report_lines",
                        f"{c}.{status}.{key}",
                        {
                            "tenant_id": tenant,
                            "report_id": report,
                            "line_key": key,
                            "label": key.title(),
                            "amount": amount,
                            "position": position,
                        },
                    )
                kpi_report = _insert(
                    conn,
                    seed,
                    "kpi_reports",
                    f"{c}.{status}",
                    {"tenant_id": tenant, "period_start": f"{month}-01", "period_end": f"{month}-28"},
                )
                seed.ids[f"{c}.kpi.{status}"] = kpi_report
                for key, value in (("arr", "12000000"), ("headcount", "12")):
                    _insert(
                        conn,
                        seed,
                        "kpi_values",
                        f"{c}.{status}.{key}",
                        {
                            "tenant_id": tenant,
                            "report_id": kpi_report,
                            "definition_id": definitions[key],
                            "value": value,
                        },
                    )
                if status == "final":
                    conn.execute("update financial_reports set status = 'final' where id = %s", (report,))
                    conn.execute("update kpi_reports set status = 'final' where id = %s", (kpi_report,))
        for vc in ("vc_active", "vc_lacking_scope", "vc_revoked"):
            seed.ids[f"request.{vc}"] = _insert(
                conn,
                seed,
                "kpi_requests",
                vc,
                {
                    "tenant_id": world.tenants["startup"],
                    "vc_tenant_id": world.tenants[vc],
                    "period_start": "2024-01-01",
                    "period_end": "2024-01-28",
                    "kpi_keys": ["arr", "headcount"],
                },
            )
    return seed


@pytest.fixture
def financials_world(world: World, owner_conn: psycopg.Connection) -> FinancialsWorld:
    return seed_financials(owner_conn, world)
