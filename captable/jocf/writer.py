"""Write a ledger as JOCF files: security holders, stock classes, transactions, shareholder agreements.

An item imported from JOCF is written from its original (``x_jocf``) with the fields the ledger models taken
from the ledger, so an import exports back as it came. Other items are written from the ledger alone. What
JOCF cannot express (warrants, vesting, stock plans, valuations, financings, pool adjustments…) is left out
and named in the warnings, never silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from captable.events import (
    Action,
    AuthorizedSharesAdjustment,
    ConversionRatioAdjustment,
    ConvertibleType,
    Event,
    Issuance,
    LedgerObject,
    Money,
    OtherEvent,
    SecurityEvent,
    SecurityKind,
    Stakeholder,
    StockClass,
    StockClassSplit,
    object_type,
)
from captable.jocf.mapping import ORIGINAL, unit_values
from captable.ledger import Ledger
from captable.problems import Problem

FILES = (
    ("SecurityHoldersFile.jocf.json", "JOCF_SECURITY_HOLDERS_FILE"),
    ("StockClassesFile.jocf.json", "JOCF_STOCK_CLASSES_FILE"),
    ("TransactionsFile.jocf.json", "JOCF_TRANSACTIONS_FILE"),
    ("SecurityHoldersAgreementsFile.jocf.json", "JOCF_SECURITYHOLDERS_AGREEMENT_FILE"),
)


def jocf_files(ledger: Ledger) -> tuple[dict[str, bytes], tuple[Problem, ...]]:
    """File name → content, and a warning for every ledger item JOCF cannot express."""
    warnings: list[Problem] = []
    originals = [_original(e) for e in ledger.events if isinstance(e, Issuance)]
    units = unit_values(o for o in originals if o)
    groups: dict[str, list[dict[str, Any]]] = {
        "JOCF_SECURITY_HOLDERS_FILE": [_holder(s) for s in ledger.stakeholders],
        "JOCF_STOCK_CLASSES_FILE": [_stock_class(c) for c in ledger.stock_classes],
        "JOCF_TRANSACTIONS_FILE": [],
        "JOCF_SECURITYHOLDERS_AGREEMENT_FILE": [
            dict(i) for i in ledger.passthrough.get("JOCF_SECURITYHOLDERS_AGREEMENT_FILE", ())
        ],
    }
    for event in ledger.events:
        out = _event(event, ledger, units)
        if out is None:
            warnings.append(Problem(event.id, object_type(event), "object_type", "JOCF cannot express it; left out"))
        else:
            groups["JOCF_TRANSACTIONS_FILE"].append(out)
    inexpressible: tuple[LedgerObject, ...] = (
        *ledger.stock_plans,
        *ledger.vesting_terms,
        *ledger.valuations,
        *ledger.financings,
    )
    for obj in inexpressible:
        warnings.append(Problem(obj.id, object_type(obj), "object_type", "JOCF cannot express it; left out"))
    files = {
        name: _dump({"file_type": file_type, "items": groups[file_type]})
        for name, file_type in FILES
        if groups[file_type]
    }
    return files, tuple(warnings)


def _original(item: LedgerObject | Event) -> dict[str, Any]:
    value = item.extra.get(ORIGINAL)
    return dict(value) if isinstance(value, Mapping) else {}


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def _same_number(text: Any, value: Decimal) -> bool:
    try:
        return Decimal(str(text)) == value
    except ArithmeticError:
        return False


def _number(base: Mapping[str, Any], key: str, value: Decimal) -> str:
    """The original text when it says the same number (keeps "1000" from becoming "1000.0")."""
    return str(base[key]) if key in base and _same_number(base[key], value) else _s(value)


def _money(value: Money | None) -> dict[str, str] | None:
    return None if value is None else {"amount": _s(value.amount), "currency": value.currency}


def _holder(holder: Stakeholder) -> dict[str, Any]:
    base = _original(holder)
    name = base.get("name")
    out = {**base, "object_type": "SECURITY_HOLDER", "id": holder.id}
    if not (isinstance(name, Mapping) and name.get("legal_name") == holder.name):
        out["name"] = {"legal_name": holder.name}
    if "security_holder_type" in base or not base:
        out["security_holder_type"] = holder.stakeholder_type
    return out


def _stock_class(cls: StockClass) -> dict[str, Any]:
    base = _original(cls)
    out: dict[str, Any] = {
        **base,
        "object_type": "STOCK_CLASS",
        "id": cls.id,
        "name": cls.name,
        "class_type": cls.class_type,
        "votes_per_share": _number(base, "votes_per_share", cls.votes_per_share),
    }
    if cls.authorized_shares is not None:
        out["initial_shares_authorized"] = _number(base, "initial_shares_authorized", cls.authorized_shares)
    elif "initial_shares_authorized" in cls.extra and "initial_shares_authorized" in base:
        out["initial_shares_authorized"] = base["initial_shares_authorized"]
    if not base and cls.class_type == "PREFERRED":
        attributes: dict[str, Any] = {"conversion_triggers": []}
        if cls.liquidation_preference_multiple is not None:
            attributes["liquidation_preference_attributes"] = {
                "liquidation_preference_multiple": _s(cls.liquidation_preference_multiple),
                "seniority": _s(cls.seniority),
            }
        out["preffered_stock_attributes"] = attributes
    return out


# Long on purpose: one branch per event type, read as a table of the JOCF each one writes.
def _event(event: Event, ledger: Ledger, units: Mapping[str, Decimal]) -> dict[str, Any] | None:
    base = _original(event)
    head = {"id": event.id, "date": event.date.isoformat()}
    match event:
        case Issuance(kind=SecurityKind.STOCK):
            return {
                **base,
                "object_type": "TX_STOCK_ISSUANCE",
                **head,
                "security_id": event.security_id,
                "securityholder_id": event.stakeholder_id,
                "stock_class_id": event.stock_class_id,
                "share_price": _money(event.price) or {"amount": "0", "currency": "JPY"},
                "quantity": _number(base, "quantity", event.quantity or Decimal(0)),
            }
        case Issuance(kind=SecurityKind.CONVERTIBLE):
            kind = {ConvertibleType.J_KISS: "J-KISS_2", ConvertibleType.SAFE: "SAFE"}.get(
                event.convertible_type or ConvertibleType.SAFE, "OTHER"
            )
            return {
                "convertible_type": kind,
                "seniority": 1,
                **base,
                "object_type": "TX_CONVERTIBLE_ISSUANCE",
                **head,
                "security_id": event.security_id,
                "securityholder_id": event.stakeholder_id,
                "investment_amount": _money(event.price),
            }
        case Issuance(kind=SecurityKind.EQUITY_COMPENSATION):
            per_unit = units.get(event.security_id, Decimal(1))
            price = event.price
            return {
                "share_per_unit": _s(per_unit),
                **base,
                "object_type": "TX_STOCK_OPTION_ISSUANCE",
                **head,
                "security_id": event.security_id,
                "securityholder_id": event.stakeholder_id,
                "quantity": _number(base, "quantity", (event.quantity or Decimal(0)) / per_unit),
                "unit_price": _money(Money(price.amount * per_unit, price.currency))
                if price
                else {"amount": "0", "currency": "JPY"},
            }
        case SecurityEvent():
            return _security_event(event, base, head, ledger, units)
        case StockClassSplit():
            if base.get("object_type") == "TX_STOCK_MERGER":
                ratio = {"numerator": _s(event.denominator), "denominator": _s(event.numerator)}
                return {**base, **head, "stock_class_id": event.stock_class_id, "merger_ratio": ratio}
            ratio = {"numerator": _s(event.numerator), "denominator": _s(event.denominator)}
            return {
                **base,
                "object_type": "TX_STOCK_SPLIT",
                **head,
                "stock_class_id": event.stock_class_id,
                "split_ratio": ratio,
            }
        case ConversionRatioAdjustment():
            mechanism = base.get("new_ratio_conversion_mechanism") or event.extra.get("new_ratio_conversion_mechanism")
            return {
                **base,
                "object_type": "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT",
                **head,
                "stock_class_id": event.stock_class_id,
                "new_ratio_conversion_mechanism": mechanism,
            }
        case AuthorizedSharesAdjustment():
            level = "ISSUER" if event.stock_class_id is None else "STOCK_CLASS"
            target = (
                {"issuer_id": event.issuer_id}
                if event.stock_class_id is None
                else {"stock_class_id": event.stock_class_id}
            )
            return {
                **base,
                "object_type": f"TX_{level}_AUTHORIZED_SHARES_ADJUSTMENT",
                **head,
                **target,
                "new_shares_authorized": _number(base, "new_shares_authorized", event.new_shares_authorized),
            }
        case OtherEvent() if event.object_type.startswith("TX_SECURITYHOLDERS_AGREEMENT_"):
            return {**base, "object_type": event.object_type, **head}
    return None


# Long on purpose: one branch per event type, read as a table of the JOCF each one writes.
def _security_event(
    event: SecurityEvent, base: dict[str, Any], head: dict[str, Any], ledger: Ledger, units: Mapping[str, Decimal]
) -> dict[str, Any] | None:
    fields: dict[str, Any] = {**head, "security_id": event.security_id}
    if event.balance_security_id:
        fields["balance_security_id"] = event.balance_security_id
    results = list(event.resulting_security_ids)
    per_unit = units.get(event.security_id, Decimal(1))
    quantity = event.quantity
    match (event.kind, event.action):
        case (SecurityKind.STOCK, Action.TRANSFER) if quantity is not None:
            return {
                **base,
                "object_type": "TX_STOCK_TRANSFER",
                **fields,
                "quantity": _number(base, "quantity", quantity),
                "resulting_security_ids": results,
            }
        case (SecurityKind.CONVERTIBLE, Action.TRANSFER) if quantity is not None:
            currency = (event.extra.get("amount") or {}).get("currency", "JPY")
            return {
                **base,
                "object_type": "TX_CONVERTIBLE_TRANSFER",
                **fields,
                "amount": {"amount": _s(quantity), "currency": currency},
                "resulting_security_ids": results,
            }
        case (SecurityKind.STOCK, Action.REPURCHASE) if quantity is not None and event.price is not None:
            return {
                **base,
                "object_type": "TX_STOCK_REPURCHASE",
                **fields,
                "price": _money(event.price),
                "quantity": _number(base, "quantity", quantity),
            }
        case (SecurityKind.STOCK, Action.CONVERSION) if quantity is not None:
            source = ledger.issuance_by_security_id.get(event.security_id)
            target = ledger.issuance_by_security_id.get(results[0]) if results else None
            received = sum(
                (
                    ledger.issuance_by_security_id[r].quantity or Decimal(0)
                    for r in results
                    if r in ledger.issuance_by_security_id
                ),
                Decimal(0),
            )
            return {
                "stock_class_id_converted": source.stock_class_id if source else None,
                "stock_class_id": target.stock_class_id if target else None,
                "quantity": _s(received),
                **base,
                "object_type": "TX_STOCK_CONVERSION",
                **fields,
                "quantity_converted": _number(base, "quantity_converted", quantity),
                "resulting_security_ids": results,
            }
        case (SecurityKind.CONVERTIBLE, Action.CONVERSION):
            out = {
                "reason_text": "conversion",
                "trigger_id": f"{event.security_id}.TRIG.1",
                **base,
                "object_type": "TX_CONVERTIBLE_CONVERSION",
                **fields,
                "resulting_security_ids": results,
            }
            if quantity is not None:
                out["quantity_converted"] = _number(base, "quantity_converted", quantity / per_unit)
            return out
        case (SecurityKind.EQUITY_COMPENSATION, Action.EXERCISE) if quantity is not None:
            return {
                **base,
                "object_type": "TX_STOCK_OPTION_EXERCISE",
                **fields,
                "quantity": _number(base, "quantity", quantity / per_unit),
                "resulting_security_ids": results,
            }
        case (SecurityKind.EQUITY_COMPENSATION, Action.CANCELLATION) if quantity is not None:
            return {
                **base,
                "object_type": "TX_STOCK_OPTION_CANCELLATION",
                **fields,
                "quantity": _number(base, "quantity", quantity / per_unit),
            }
    return None


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
