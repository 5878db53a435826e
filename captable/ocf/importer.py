"""Import an OCF package into a validated ledger: read, check each item, map, then validate the ledger.

Every problem is reported (package, item and ledger levels); ``ImportResult.ok`` is False when there is any,
and the caller must then write nothing. The ledger is still returned (items that failed item validation left
out) so a rejected package can be inspected, replayed and exported.

OCF 1.0.0 pre-release forms are upgraded first (:mod:`captable.ocf.upgrade`, every change reported), and the
problems are reported by root cause (:mod:`captable.causes`): an object that refers to a rejected item of the
package depends on it; it is not told that the item "does not exist".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from captable.causes import ProblemGroup, Rejected, by_cause
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
from captable.ledger import Ledger
from captable.ocf.mapping import event_from_ocf, issuer_from_ocf, object_from_ocf
from captable.ocf.reader import RawPackage, read_package
from captable.ocf.upgrade import Change, upgrade
from captable.ocf.validation import normalize, validate_item
from captable.problems import Problem
from captable.validation import validate

_PASSTHROUGH = {"OCF_STOCK_LEGEND_TEMPLATES_FILE", "OCF_DOCUMENTS_FILE", "JOCF_SECURITYHOLDERS_AGREEMENT_FILE"}


@dataclass(frozen=True)
class ImportResult:
    ledger: Ledger
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    version: tuple[int, int, int] = (1, 2, 0)
    manifest: Mapping[str, Any] = field(default_factory=dict, compare=False)
    changes: tuple[Change, ...] = ()  # what the upgrade of OCF 1.0.0 pre-release forms rewrote
    groups: tuple[ProblemGroup, ...] = ()  # every problem, under its root cause
    package: RawPackage | None = field(default=None, compare=False)  # the upgraded package the ledger was read from

    @property
    def ok(self) -> bool:
        return not self.problems


def import_package(path: str | Path) -> ImportResult:
    return import_raw(read_package(path))


def import_raw(
    source: RawPackage, prior: Sequence[Problem] = (), prior_rejected: Sequence[Rejected] = ()
) -> ImportResult:
    """`prior` problems and rejected items come from an earlier stage (a JOCF package's schema validation)."""
    upgraded = upgrade(source)
    raw = upgraded.package
    asked: dict[str, list[Problem]] = {}
    for change in upgraded.changes:
        if change.needs_value:
            asked.setdefault(change.object_id, []).append(
                Problem(change.object_id, change.object_type, change.field, f"needs a value: {change.reason}")
            )
    rejected: list[Rejected] = list(prior_rejected)
    problems = [*prior, *raw.problems]
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
        item_problems = _with_asked(validate_item(item), asked.get(str(item.get("id")), []))
        if item_problems:
            problems.extend(item_problems)
            rejected.append(rejected_item(item))
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
    flat, groups = by_cause(tuple(dict.fromkeys(problems)), rejected)
    return ImportResult(ledger, flat, raw.warnings, raw.version, raw.manifest, upgraded.changes, groups, raw)


def rejected_item(item: Mapping[str, Any]) -> Rejected:
    kind = str(item.get("object_type"))
    security = item.get("security_id") if kind.endswith("_ISSUANCE") else None
    return Rejected(str(item.get("id", "?")), kind, security if isinstance(security, str) else None)


def _with_asked(found: list[Problem], asked: list[Problem]) -> list[Problem]:
    """Item problems, where a value the upgrade asks for replaces the bare "required field is missing"."""
    fields = {p.field for p in asked}
    return [*asked, *(p for p in found if p.field not in fields)]
