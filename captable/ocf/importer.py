"""Import an OCF package into a validated ledger: read, check each item, map, then validate the ledger.

Every problem is reported (package, item and ledger levels); ``ImportResult.ok`` is False when there is any,
and the caller must then write nothing. The ledger is still returned (items that failed item validation left
out) so a rejected package can be inspected, replayed and exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from captable.events import (
    Event,
    Financing,
    Issuer,
    Stakeholder,
    StockClass,
    StockPlan,
    Valuation,
    VestingTerms,
)
from captable.ledger import Ledger, validate
from captable.ocf.mapping import event_from_ocf, issuer_from_ocf, object_from_ocf
from captable.ocf.reader import RawPackage, read_package
from captable.ocf.validation import normalize, validate_item
from captable.problems import Problem

_PASSTHROUGH = {"OCF_STOCK_LEGEND_TEMPLATES_FILE", "OCF_DOCUMENTS_FILE"}


@dataclass(frozen=True)
class ImportResult:
    ledger: Ledger
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    version: tuple[int, int, int] = (1, 2, 0)
    manifest: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems


def import_package(path: str | Path) -> ImportResult:
    return import_raw(read_package(path))


def import_raw(raw: RawPackage) -> ImportResult:
    problems = list(raw.problems)
    issuer_item = raw.manifest.get("issuer")
    issuer = issuer_from_ocf(issuer_item) if isinstance(issuer_item, dict) else Issuer("issuer", "")
    buckets: dict[type, list[Any]] = {
        t: [] for t in (Stakeholder, StockClass, StockPlan, VestingTerms, Valuation, Financing)
    }
    events: list[Event] = []
    passthrough: dict[str, list[Mapping[str, Any]]] = {}
    for raw_item in raw.items:
        if raw_item.file_type in _PASSTHROUGH:
            passthrough.setdefault(raw_item.file_type, []).append(raw_item.item)
            item_problems = validate_item(raw_item.item)
            problems.extend(item_problems)
            continue
        item = normalize(raw_item.item)
        item_problems = validate_item(item)
        if item_problems:
            problems.extend(item_problems)
            continue
        if raw_item.file_type == "OCF_TRANSACTIONS_FILE":
            events.append(event_from_ocf(item))
        else:
            obj = object_from_ocf(item)
            buckets[type(obj)].append(obj)
    ledger = Ledger(
        issuer=issuer,
        stakeholders=tuple(buckets[Stakeholder]),
        stock_classes=tuple(buckets[StockClass]),
        stock_plans=tuple(buckets[StockPlan]),
        vesting_terms=tuple(buckets[VestingTerms]),
        valuations=tuple(buckets[Valuation]),
        financings=tuple(buckets[Financing]),
        events=tuple(events),
        passthrough={k: tuple(v) for k, v in passthrough.items()},
    )
    problems.extend(validate(ledger))
    return ImportResult(ledger, tuple(dict.fromkeys(problems)), raw.warnings, raw.version, raw.manifest)
