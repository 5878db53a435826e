"""The request runtime from the settings, built in one place so that HTTP, subscriptions and the CLI run a
document alike: the same cost store and sources, the same limits, the same invoice font."""

from __future__ import annotations

from cost.store import CostStore
from db.session import Database
from resolvers.common.request import RequestRuntime
from schema.settings import Settings


def request_runtime(settings: Settings, database: Database, cost_store: CostStore | None) -> RequestRuntime:
    return RequestRuntime(
        database=database,
        max_page_size=settings.max_page_size,
        cost_store=cost_store,
        cost_sources=settings.cost_import_sources,
        limits=settings.request_limits,
        invoice_font=settings.invoice_font,
    )
