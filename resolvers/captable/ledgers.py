"""The stored ledger ↔ the engine: rows of OCF items become a `captable.Ledger`; new items are checked by
`object_type` (field-level problems) and then with the whole ledger; a ledger becomes its derived snapshot.

Pure functions, no I/O: the resolvers load and write, the bench seeds with the same snapshot function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from captable import ConvertibleRule, Ledger, Problem, replay, validate
from captable.events import (
    Event,
    Financing,
    Issuer,
    LedgerObject,
    SecurityKind,
    Stakeholder,
    StockClass,
    StockPlan,
    Valuation,
    VestingTerms,
)
from captable.holdings import LatestPrice, holding_metrics, latest_price
from captable.ocf.mapping import event_from_ocf, issuer_from_ocf, object_from_ocf
from captable.ocf.validation import normalize, validate_item
from captable.replay import CapTableState
from db.captable_records import HoldingRecord, LedgerRow, NewLedgerRow, SnapshotRecord

ZERO = Decimal(0)
ISSUER = "ISSUER"
PASSTHROUGH_FILES = {
    "STOCK_LEGEND_TEMPLATE": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
    "DOCUMENT": "OCF_DOCUMENTS_FILE",
    # JOCF shareholder agreements, kept for the JOCF export
    "MASTER_SECURITYHOLDERS_AGREEMENT": "JOCF_SECURITYHOLDERS_AGREEMENT_FILE",
    "ACQUISITION_DISTRIBUTION_AGREEMENT": "JOCF_SECURITYHOLDERS_AGREEMENT_FILE",
}
OBJECT_TYPES = frozenset({"STAKEHOLDER", "STOCK_CLASS", "STOCK_PLAN", "VESTING_TERMS", "VALUATION", "FINANCING"})
SNAPSHOT_RULE = ConvertibleRule.AT_CAP
T = TypeVar("T")


def is_event(kind: str) -> bool:
    return kind.startswith(("TX_", "CE_"))


def ledger_from_items(items: Iterable[Mapping[str, Any]], issuer: Issuer | None = None) -> Ledger:
    """Build the ledger from stored (already validated, normalized) OCF items, in ledger order."""
    buckets: dict[str, list[LedgerObject]] = {k: [] for k in OBJECT_TYPES}
    events: list[Event] = []
    passthrough: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        kind = item["object_type"]
        if kind == ISSUER:
            issuer = issuer_from_ocf(item)
        elif kind in PASSTHROUGH_FILES:
            passthrough.setdefault(PASSTHROUGH_FILES[kind], []).append(item)
        elif is_event(kind):
            events.append(event_from_ocf(item))
        else:
            buckets[kind].append(object_from_ocf(item))
    return Ledger(
        issuer=issuer or Issuer("issuer", ""),
        stakeholders=_bucket(buckets["STAKEHOLDER"], Stakeholder),
        stock_classes=_bucket(buckets["STOCK_CLASS"], StockClass),
        stock_plans=_bucket(buckets["STOCK_PLAN"], StockPlan),
        vesting_terms=_bucket(buckets["VESTING_TERMS"], VestingTerms),
        valuations=_bucket(buckets["VALUATION"], Valuation),
        financings=_bucket(buckets["FINANCING"], Financing),
        events=tuple(events),
        passthrough={k: tuple(v) for k, v in passthrough.items()},
    )


def _bucket(objects: list[LedgerObject], kind: type[T]) -> tuple[T, ...]:
    """One object_type's objects as their class: object_from_ocf builds that class for it, so none is dropped."""
    typed = tuple(o for o in objects if isinstance(o, kind))
    assert len(typed) == len(objects), f"object_from_ocf built other objects than {kind.__name__}"
    return typed


def ledger_from_rows(rows: Sequence[LedgerRow]) -> Ledger:
    return ledger_from_items(r.payload for r in rows)


@dataclass(frozen=True)
class Checked:
    """New items checked against the stored ledger: the rows to append, or the problems (then write nothing)."""

    rows: tuple[NewLedgerRow, ...]
    ledger: Ledger
    problems: tuple[Problem, ...]


def new_row(item: Mapping[str, Any]) -> NewLedgerRow:
    when = item.get("date") or item.get("effective_date")
    return NewLedgerRow(
        id=item["id"],
        object_type=item["object_type"],
        effective_date=date.fromisoformat(when) if isinstance(when, str) else None,
        payload=dict(item),
    )


def check_items(
    stored: Sequence[LedgerRow], items: Sequence[Mapping[str, Any]], *, issuer: Mapping[str, Any] | None = None
) -> Checked:
    """Validate each item by its `object_type`, then the whole ledger with the items appended.

    `issuer` is the ISSUER item written first when the stored ledger has none yet (a new cap table).
    """
    problems: list[Problem] = []
    accepted: list[dict[str, Any]] = []
    if issuer is not None and not any(r.object_type == ISSUER for r in stored):
        accepted.append({**issuer, "object_type": ISSUER})
    for item in items:
        if not isinstance(item, Mapping):
            problems.append(Problem("?", "?", "object_type", "an item must be a JSON object"))
            continue
        normalized = normalize(item)
        if normalized.get("object_type") == ISSUER:
            problems.append(
                Problem(
                    str(normalized.get("id", "?")),
                    ISSUER,
                    "object_type",
                    "the issuer is created with the cap table; it is not an event",
                )
            )
            continue
        item_problems = validate_item(normalized)
        if item_problems:
            problems.extend(item_problems)
            continue
        accepted.append(normalized)
    problems.extend(_id_collisions(stored, accepted))
    try:
        ledger = ledger_from_items([*(r.payload for r in stored), *accepted])
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        # validate_item checks what the mapping reads; this is a last line of defence, never a 500
        problems.append(Problem("?", "?", "payload", f"an item cannot be read: {error!r}"))
        ledger = ledger_from_rows(stored)
    if not problems:
        problems.extend(validate(ledger))
    return Checked(tuple(new_row(i) for i in accepted), ledger, tuple(dict.fromkeys(problems)))


def _id_collisions(stored: Sequence[LedgerRow], accepted: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Ids are unique in a tenant's ledger (the primary key). The engine reports duplicates within one group
    (stakeholders, events, …); this reports an id reused across groups."""
    seen = {r.id: r.object_type for r in stored}
    problems = []
    for item in accepted:
        kind, item_id = item["object_type"], item["id"]
        if item_id in seen and _group(seen[item_id]) != _group(kind):
            problems.append(Problem(item_id, kind, "id", f"id is already used by a {seen[item_id]}"))
        seen.setdefault(item_id, kind)
    return problems


def _group(kind: str) -> str:
    return "EVENT" if is_event(kind) else kind


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _currency(ledger: Ledger, source_id: str | None) -> str | None:
    for financing in ledger.financings:
        if financing.id == source_id and financing.price_per_share is not None:
            return financing.price_per_share.currency
    for valuation in ledger.valuations:
        if valuation.id == source_id:
            return valuation.price_per_share.currency
    for event in ledger.events:
        price = getattr(event, "price", None)
        if price is not None:
            return str(price.currency)
    return None


def company_currency(ledger: Ledger, as_of: date) -> str | None:
    """The currency of the company's latest price, else of any price in its ledger (one per company)."""
    price = latest_price(ledger, as_of)
    return _currency(ledger, price.source_id if price else None)


def compute_snapshot(
    tenant_id: UUID, ledger: Ledger, links: Mapping[UUID, Sequence[str]], as_of: date, ledger_seq: int
) -> SnapshotRecord:
    """Replay `ledger` as of `as_of` (convertibles at cap) and compute each linked VC's holding."""
    state = replay(ledger, as_of, SNAPSHOT_RULE)
    price = latest_price(ledger, as_of)
    holdings = tuple(_holding(ledger, state, price, vc_id, ids, as_of) for vc_id, ids in sorted(links.items()))
    return SnapshotRecord(
        tenant_id=tenant_id,
        as_of=as_of,
        ledger_seq=ledger_seq,
        outstanding=state.outstanding_shares,
        fully_diluted=state.fully_diluted_shares,
        price_per_share=price.price_per_share if price else None,
        price_date=price.date if price else None,
        currency=_currency(ledger, price.source_id if price else None),
        positions=[
            {
                "security_id": p.security_id,
                "stakeholder_id": p.stakeholder_id,
                "kind": p.kind.value,
                "quantity": str(p.quantity),
                "stock_class_id": p.stock_class_id,
                "stock_plan_id": p.stock_plan_id,
                "fully_diluted": str(p.fully_diluted),
            }
            for p in state.positions
        ],
        ownership_by_class={k: str(v) for k, v in state.ownership_by_class.items()},
        pools=[
            {
                "stock_plan_id": p.stock_plan_id,
                "reserved": str(p.reserved),
                "granted": str(p.granted),
                "issued": str(p.issued),
                "available": str(p.available),
            }
            for p in state.pools.values()
        ],
        holdings=holdings,
    )


def _holding(
    ledger: Ledger,
    state: CapTableState,
    price: LatestPrice | None,
    vc_id: UUID,
    stakeholder_ids: Sequence[str],
    as_of: date,
) -> HoldingRecord:
    """One VC's holding through its linked stakeholders; each stakeholder's value at `price` (a convertible not
    converted at the cap counts at its principal)."""
    holders = sorted(set(stakeholder_ids))
    metrics = holding_metrics(ledger, holders, as_of, SNAPSHOT_RULE)
    by_holder: dict[str, Decimal] = {}
    if price is not None:
        for position in state.positions_of(holders):
            unconverted = position.kind is SecurityKind.CONVERTIBLE and not position.fully_diluted
            value = position.quantity if unconverted else position.fully_diluted * price.price_per_share
            by_holder[position.stakeholder_id] = by_holder.get(position.stakeholder_id, ZERO) + value
    return HoldingRecord(
        vc_tenant_id=vc_id,
        stakeholder_ids=holders,
        ownership=metrics.ownership,
        fully_diluted_ownership=metrics.fully_diluted_ownership,
        invested=metrics.invested,
        holding_value=metrics.holding_value,
        value_by_stakeholder={k: str(v) for k, v in by_holder.items()},
    )


def links_by_vc(links: Iterable[tuple[str, UUID]]) -> dict[UUID, list[str]]:
    grouped: dict[UUID, list[str]] = {}
    for stakeholder_id, vc_id in links:
        grouped.setdefault(vc_id, []).append(stakeholder_id)
    return grouped
