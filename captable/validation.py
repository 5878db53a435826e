"""A ledger's validation: duplicate ids, missing references, value rules, then the replay rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable

from captable.errors import LedgerRejected
from captable.events import (
    AuthorizedSharesAdjustment,
    Consolidation,
    ConversionRatioAdjustment,
    Event,
    Issuance,
    LedgerObject,
    OtherEvent,
    PoolAdjustment,
    SecurityKind,
    StockClassSplit,
    object_type,
)
from captable.ledger import Ledger
from captable.problems import Problem
from captable.replay import replay_problems
from captable.values import value_problems


def validate(ledger: Ledger) -> list[Problem]:
    """Every problem in ``ledger``: duplicates, missing references, then the replay rules (sorted, stable)."""
    items = (
        ledger.issuer,
        *ledger.stakeholders,
        *ledger.stock_classes,
        *ledger.stock_plans,
        *ledger.vesting_terms,
        *ledger.valuations,
        *ledger.financings,
        *ledger.events,
    )
    problems = [*_duplicates(ledger), *_references(ledger), *value_problems(items)]
    if any(p.reason.endswith(("finite number", "decimal point")) for p in problems):
        return problems  # replaying unbounded numbers proves nothing more and can take unbounded time
    problems += replay_problems(ledger)
    return sorted(set(problems), key=problems.index)


def ensure_valid(ledger: Ledger) -> Ledger:
    """Return ``ledger`` unchanged, or raise :class:`LedgerRejected` with all its problems."""
    problems = validate(ledger)
    if problems:
        raise LedgerRejected(problems)
    return ledger


def _duplicates(ledger: Ledger) -> Iterable[Problem]:
    groups: list[tuple[LedgerObject | Event, ...]] = [
        ledger.stakeholders,
        ledger.stock_classes,
        ledger.stock_plans,
        ledger.vesting_terms,
        ledger.valuations,
        ledger.financings,
        ledger.events,
    ]
    for group in groups:
        counts = Counter(item.id for item in group)
        reported: set[str] = set()
        for item in group:
            if counts[item.id] > 1 and item.id not in reported:
                reported.add(item.id)
                yield Problem(item.id, object_type(item), "id", f"id used by {counts[item.id]} items")
    issued = Counter(e.security_id for e in ledger.events if isinstance(e, Issuance))
    for event in ledger.events:
        if isinstance(event, Issuance) and issued[event.security_id] > 1:
            first = ledger.issuance_by_security_id[event.security_id]
            if first is not event:
                yield Problem(
                    event.id,
                    object_type(event),
                    "security_id",
                    f"security {event.security_id!r} is already issued by {first.id!r}",
                )


def _references(ledger: Ledger) -> Iterable[Problem]:
    def missing(
        item: LedgerObject | Event, field_name: str, ref: str | None, table: Container[str], what: str
    ) -> Iterable[Problem]:
        if ref is not None and ref not in table:
            yield Problem(item.id, object_type(item), field_name, f"{what} {ref!r} does not exist")

    stakeholders = ledger.stakeholder_by_id
    classes = ledger.stock_class_by_id
    plans = ledger.stock_plan_by_id
    terms = ledger.vesting_terms_by_id
    for plan in ledger.stock_plans:
        for class_id in plan.stock_class_ids:
            yield from missing(plan, "stock_class_ids", class_id, classes, "stock class")
    for stock_class in ledger.stock_classes:
        ref = stock_class.converts_to_stock_class_id
        yield from missing(stock_class, "conversion_rights", ref, classes, "stock class")
    for valuation in ledger.valuations:
        yield from missing(valuation, "stock_class_id", valuation.stock_class_id, classes, "stock class")
    event_ids = {e.id for e in ledger.events}
    for financing in ledger.financings:
        for issuance_id in financing.issuance_ids:
            yield from missing(financing, "issuance_ids", issuance_id, event_ids, "issuance")
    for event in ledger.events:
        match event:
            case Issuance():
                yield from missing(event, "stakeholder_id", event.stakeholder_id, stakeholders, "stakeholder")
                yield from missing(event, "stock_class_id", event.stock_class_id, classes, "stock class")
                yield from missing(event, "stock_plan_id", event.stock_plan_id, plans, "stock plan")
                yield from missing(event, "vesting_terms_id", event.vesting_terms_id, terms, "vesting terms")
                if event.kind is SecurityKind.STOCK and event.stock_class_id is None:
                    yield Problem(event.id, object_type(event), "stock_class_id", "a stock issuance needs a class")
            case StockClassSplit() | ConversionRatioAdjustment():
                yield from missing(event, "stock_class_id", event.stock_class_id, classes, "stock class")
            case AuthorizedSharesAdjustment():
                yield from missing(event, "stock_class_id", event.stock_class_id, classes, "stock class")
            case PoolAdjustment():
                yield from missing(event, "stock_plan_id", event.stock_plan_id, plans, "stock plan")
            case OtherEvent():
                yield from missing(event, "stakeholder_id", event.stakeholder_id, stakeholders, "stakeholder")
                yield from missing(event, "stock_plan_id", event.stock_plan_id, plans, "stock plan")
            case Consolidation():
                pass
            case _:
                pass
