"""OCF items ↔ domain objects and events.

Import keeps every field the engine does not model in ``extra`` and export writes it back, so an imported
package exports losslessly (modulo legacy names, written in their OCF 1.2 spelling). Domain-only concepts map
to OCF as follows: a J-KISS is an OCF ``SAFE`` whose ``custom_id`` or comments are left to the user, and is
marked by ``"convertible_type": "SAFE"`` plus the extension field ``x_roundpool_instrument: "J_KISS"`` (kept
on re-import); a financing's pre-money, price and amount raised use ``x_roundpool_*`` fields likewise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from captable.events import (
    ONE,
    Action,
    AuthorizedSharesAdjustment,
    Consolidation,
    ConversionRatioAdjustment,
    ConvertibleTerms,
    ConvertibleType,
    Event,
    Financing,
    Issuance,
    Issuer,
    LedgerObject,
    Money,
    OtherEvent,
    PoolAdjustment,
    SecurityEvent,
    SecurityKind,
    Stakeholder,
    StockClass,
    StockClassSplit,
    StockPlan,
    Valuation,
    VestingCondition,
    VestingEvent,
    VestingTerms,
    object_type,
)
from captable.ocf.validation import AUTHORIZED_SHARES

_KINDS = {k.value: k for k in SecurityKind}
_ACTIONS = {a.value: a for a in Action}
_VESTING = ("TX_VESTING_START", "TX_VESTING_EVENT", "TX_VESTING_ACCELERATION")


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _od(value: Any) -> Decimal | None:
    return None if value is None else _d(value)


def _date(value: Any) -> date:
    return date.fromisoformat(value)


def _money(value: Any) -> Money | None:
    if not isinstance(value, dict):
        return None
    return Money(_d(value["amount"]), value["currency"])


def _money_out(value: Money | None) -> dict[str, str] | None:
    return None if value is None else {"amount": str(value.amount), "currency": value.currency}


def _rest(item: Mapping[str, Any], used: set[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in used and k not in ("object_type", "id")}


def _out(kind: str, obj_id: str, fields: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"object_type": kind, "id": obj_id}
    item.update({k: v for k, v in fields.items() if v is not None})
    for key, value in extra.items():
        item.setdefault(key, value)
    return item


# ---- import --------------------------------------------------------------------------------------------


def issuer_from_ocf(item: Mapping[str, Any]) -> Issuer:
    used = {"legal_name", "formation_date"}
    formed = item.get("formation_date")
    return Issuer(
        item.get("id", "issuer"),
        item.get("legal_name", ""),
        _date(formed) if formed else None,
        extra=_rest(item, used),
    )


# Long on purpose: one branch per OCF object type, read as a table; split, the mapping would be scattered.
def object_from_ocf(item: Mapping[str, Any]) -> LedgerObject:
    kind = item["object_type"]
    if kind == "STAKEHOLDER":
        name = item["name"].get("legal_name", "")
        return Stakeholder(item["id"], name, item["stakeholder_type"], extra=_rest(item, {"stakeholder_type"}))
    if kind == "STOCK_CLASS":
        rights = item.get("conversion_rights") or []
        ratio, target = ONE, None
        if rights:
            mechanism = rights[0].get("conversion_mechanism", {})
            target = rights[0].get("converts_to_stock_class_id")
            r = mechanism.get("ratio")
            if isinstance(r, dict):
                ratio = _d(r["numerator"]) / _d(r["denominator"])
        used = {
            "name",
            "class_type",
            "initial_shares_authorized",
            "votes_per_share",
            "seniority",
            "liquidation_preference_multiple",
            "participation_cap_multiple",
            "price_per_share",
        }
        authorized = item.get("initial_shares_authorized")
        extra = _rest(item, used)
        if authorized in AUTHORIZED_SHARES:  # UNLIMITED | NOT APPLICABLE: no limit to check, kept for export
            extra["initial_shares_authorized"], authorized = authorized, None
        return StockClass(
            id=item["id"],
            name=item["name"],
            class_type=item["class_type"],
            authorized_shares=_od(authorized),
            votes_per_share=_d(item["votes_per_share"]),
            seniority=_d(item["seniority"]),
            liquidation_preference_multiple=_od(item.get("liquidation_preference_multiple")),
            participation_cap_multiple=_od(item.get("participation_cap_multiple")),
            conversion_ratio=ratio,
            converts_to_stock_class_id=target,
            price_per_share=_money(item.get("price_per_share")),
            extra=extra,
        )
    if kind == "STOCK_PLAN":
        used = {"plan_name", "initial_shares_reserved", "stock_class_ids", "default_cancellation_behavior"}
        return StockPlan(
            item["id"],
            item["plan_name"],
            _d(item["initial_shares_reserved"]),
            tuple(item.get("stock_class_ids") or ()),
            item.get("default_cancellation_behavior"),
            extra=_rest(item, used),
        )
    if kind == "VESTING_TERMS":
        conditions = tuple(_condition(c) for c in item["vesting_conditions"])
        used = {"name", "allocation_type", "vesting_conditions"}
        return VestingTerms(item["id"], item["name"], item["allocation_type"], conditions, extra=_rest(item, used))
    if kind == "VALUATION":
        price = _money(item["price_per_share"])
        assert price is not None
        used = {"effective_date", "stock_class_id", "price_per_share", "valuation_type"}
        return Valuation(
            item["id"],
            _date(item["effective_date"]),
            item["stock_class_id"],
            price,
            item["valuation_type"],
            extra=_rest(item, used),
        )
    if kind == "FINANCING":
        used = {
            "name",
            "date",
            "issuance_ids",
            "x_roundpool_pre_money",
            "x_roundpool_price_per_share",
            "x_roundpool_amount_raised",
        }
        return Financing(
            item["id"],
            _date(item["date"]),
            item["name"],
            tuple(item["issuance_ids"]),
            _money(item.get("x_roundpool_pre_money")),
            _money(item.get("x_roundpool_price_per_share")),
            _money(item.get("x_roundpool_amount_raised")),
            extra=_rest(item, used),
        )
    raise ValueError(f"not a ledger object: {kind}")


def _condition(raw: Mapping[str, Any]) -> VestingCondition:
    trigger = raw.get("trigger") or {}
    period = trigger.get("period") or {}
    portion = raw.get("portion")
    absolute = trigger.get("date")
    return VestingCondition(
        id=raw["id"],
        trigger=trigger.get("type", "VESTING_EVENT"),
        portion=(_d(portion["numerator"]), _d(portion["denominator"])) if portion else None,
        remainder=bool(portion.get("remainder")) if portion else False,
        quantity=_od(raw.get("quantity")),
        period_length=int(period.get("length", 0)),
        period_type=period.get("type", "MONTHS"),
        occurrences=int(period.get("occurrences", 1)),
        relative_to=trigger.get("relative_to_condition_id"),
        absolute_date=_date(absolute) if absolute else None,
        next_condition_ids=tuple(raw.get("next_condition_ids") or ()),
        extra={k: v for k, v in raw.items() if k not in ("id", "next_condition_ids")},
    )


def _terms(item: Mapping[str, Any]) -> ConvertibleTerms:
    for trigger in item.get("conversion_triggers") or []:
        mechanism = (trigger.get("conversion_right") or {}).get("conversion_mechanism") or {}
        cap = mechanism.get("conversion_valuation_cap")
        rates = mechanism.get("interest_rates") or []
        discount = mechanism.get("conversion_discount")
        if cap or rates or discount or mechanism.get("type") == "SAFE_CONVERSION":
            return ConvertibleTerms(
                valuation_cap=_d(cap["amount"]) if cap else None,
                discount=_od(discount),
                interest_rate=_d(rates[0]["rate"]) if rates else None,
                post_money=mechanism.get("conversion_timing") == "POST_MONEY",
            )
    return ConvertibleTerms()


# Long on purpose: one branch per OCF object type, read as a table; split, the mapping would be scattered.
def event_from_ocf(item: Mapping[str, Any]) -> Event:
    kind: str = item["object_type"]
    when = _date(item["date"])
    ids = item["id"]
    if kind.endswith("_ISSUANCE") and kind.removeprefix("TX_").removesuffix("_ISSUANCE") in _KINDS:
        sec_kind = _KINDS[kind.removeprefix("TX_").removesuffix("_ISSUANCE")]
        used = {
            "date",
            "security_id",
            "stakeholder_id",
            "stock_class_id",
            "stock_plan_id",
            "vesting_terms_id",
            "compensation_type",
            "custom_id",
            "vestings",
        }
        price_key = {
            SecurityKind.STOCK: "share_price",
            SecurityKind.EQUITY_COMPENSATION: "exercise_price",
            SecurityKind.WARRANT: "exercise_price",
            SecurityKind.CONVERTIBLE: "investment_amount",
        }[sec_kind]
        used.add(price_key)
        price = _money(item.get(price_key))
        quantity = _od(item.get("quantity"))
        convertible_type = terms = None
        if sec_kind is SecurityKind.CONVERTIBLE:
            quantity = price.amount if price else None
            instrument = item.get("x_roundpool_instrument") or item["convertible_type"]
            convertible_type = ConvertibleType(instrument)
            terms = _terms(item)
            used |= {"convertible_type", "x_roundpool_instrument"}
        else:
            used.add("quantity")
        vestings = tuple((_date(v["date"]), _d(v["amount"])) for v in item.get("vestings") or ())
        return Issuance(
            id=ids,
            date=when,
            kind=sec_kind,
            security_id=item["security_id"],
            stakeholder_id=item["stakeholder_id"],
            quantity=quantity,
            stock_class_id=item.get("stock_class_id"),
            stock_plan_id=item.get("stock_plan_id"),
            vesting_terms_id=item.get("vesting_terms_id"),
            price=price,
            compensation_type=item.get("compensation_type"),
            convertible_type=convertible_type,
            terms=terms,
            vestings=vestings,
            custom_id=item.get("custom_id"),
            extra=_rest(item, used),
        )
    parts = kind.removeprefix("TX_").rsplit("_", 1)
    if len(parts) == 2 and parts[0] in _KINDS and parts[1] in _ACTIONS:
        sec_kind, action = _KINDS[parts[0]], _ACTIONS[parts[1]]
        used = {
            "date",
            "security_id",
            "quantity",
            "quantity_converted",
            "resulting_security_ids",
            "balance_security_id",
            "split_transaction_id",
        }
        quantity = _od(item.get("quantity", item.get("quantity_converted")))
        price = _money(item.get("price"))
        if price is not None:
            used.add("price")
        if sec_kind is SecurityKind.CONVERTIBLE and "amount" in item:
            quantity = _d(item["amount"]["amount"])
            used.add("amount")
        return SecurityEvent(
            id=ids,
            date=when,
            kind=sec_kind,
            action=action,
            security_id=item["security_id"],
            quantity=quantity,
            resulting_security_ids=tuple(item.get("resulting_security_ids") or ()),
            balance_security_id=item.get("balance_security_id") or None,
            price=price,
            split_transaction_id=item.get("split_transaction_id"),
            extra=_rest(item, used),
        )
    if kind == "TX_STOCK_CONSOLIDATION":
        return Consolidation(
            ids,
            when,
            tuple(item["security_ids"]),
            item["resulting_security_id"],
            extra=_rest(item, {"date", "security_ids", "resulting_security_id"}),
        )
    if kind == "TX_STOCK_CLASS_SPLIT":
        ratio = item["split_ratio"]
        return StockClassSplit(
            ids,
            when,
            item["stock_class_id"],
            _d(ratio["numerator"]),
            _d(ratio["denominator"]),
            extra=_rest(item, {"date", "stock_class_id", "split_ratio"}),
        )
    if kind in ("TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT", "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT"):
        return AuthorizedSharesAdjustment(
            ids,
            when,
            _d(item["new_shares_authorized"]),
            item.get("stock_class_id"),
            item.get("issuer_id"),
            extra=_rest(item, {"date", "new_shares_authorized", "stock_class_id", "issuer_id"}),
        )
    if kind == "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT":
        mechanism = item["new_ratio_conversion_mechanism"]
        ratio = mechanism.get("ratio") or {"numerator": "1", "denominator": "1"}
        return ConversionRatioAdjustment(
            ids,
            when,
            item["stock_class_id"],
            _d(ratio["numerator"]) / _d(ratio["denominator"]),
            extra=_rest(item, {"date", "stock_class_id"}),
        )
    if kind == "TX_STOCK_PLAN_POOL_ADJUSTMENT":
        return PoolAdjustment(
            ids,
            when,
            item["stock_plan_id"],
            _d(item["shares_reserved"]),
            extra=_rest(item, {"date", "stock_plan_id", "shares_reserved"}),
        )
    if kind in _VESTING:
        return VestingEvent(
            ids,
            when,
            kind,
            item["security_id"],
            item.get("vesting_condition_id"),
            _od(item.get("quantity")),
            extra=_rest(item, {"date", "security_id", "vesting_condition_id", "quantity"}),
        )
    return OtherEvent(
        ids,
        when,
        kind,
        item.get("security_id"),
        item.get("stakeholder_id"),
        item.get("stock_plan_id"),
        _od(item.get("quantity")),
        extra=_rest(item, {"date", "security_id", "stakeholder_id", "stock_plan_id", "quantity"}),
    )


# ---- export --------------------------------------------------------------------------------------------


def issuer_to_ocf(issuer: Issuer) -> dict[str, Any]:
    return _out(
        "ISSUER",
        issuer.id,
        {"legal_name": issuer.legal_name, "formation_date": _iso(issuer.formation_date)},
        issuer.extra,
    )


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# Long on purpose: one branch per OCF object type, read as a table; split, the mapping would be scattered.
def to_ocf(obj: LedgerObject | Event) -> dict[str, Any]:
    kind = object_type(obj)
    match obj:
        case Stakeholder():
            fields: dict[str, Any] = {
                "name": obj.extra.get("name") or {"legal_name": obj.name},
                "stakeholder_type": obj.stakeholder_type,
            }
            extra = {k: v for k, v in obj.extra.items() if k != "name"}
            return _out(kind, obj.id, fields, extra)
        case StockClass():
            fields = {
                "name": obj.name,
                "class_type": obj.class_type,
                "initial_shares_authorized": _s(obj.authorized_shares),
                "votes_per_share": str(obj.votes_per_share),
                "seniority": str(obj.seniority),
                "liquidation_preference_multiple": _s(obj.liquidation_preference_multiple),
                "participation_cap_multiple": _s(obj.participation_cap_multiple),
                "price_per_share": _money_out(obj.price_per_share),
            }
            extra = dict(obj.extra)
            if obj.converts_to_stock_class_id and "conversion_rights" not in extra:
                extra["conversion_rights"] = [
                    {
                        "conversion_mechanism": {
                            "type": "RATIO_CONVERSION",
                            "rounding_type": "NORMAL",
                            "ratio": {"numerator": str(obj.conversion_ratio), "denominator": "1"},
                        },
                        "converts_to_stock_class_id": obj.converts_to_stock_class_id,
                    }
                ]
            extra.setdefault("default_id_prefix", obj.id[:3].upper() + "-")
            return _out(kind, obj.id, fields, extra)
        case StockPlan():
            return _out(
                kind,
                obj.id,
                {
                    "plan_name": obj.name,
                    "initial_shares_reserved": str(obj.reserved_shares),
                    "stock_class_ids": list(obj.stock_class_ids) or None,
                    "default_cancellation_behavior": obj.cancellation_behavior,
                },
                obj.extra,
            )
        case VestingTerms():
            conditions = [_condition_out(c) for c in obj.conditions]
            extra = dict(obj.extra)
            extra.setdefault("description", obj.name)
            return _out(
                kind,
                obj.id,
                {"name": obj.name, "allocation_type": obj.allocation_type, "vesting_conditions": conditions},
                extra,
            )
        case Valuation():
            return _out(
                kind,
                obj.id,
                {
                    "effective_date": obj.date.isoformat(),
                    "stock_class_id": obj.stock_class_id,
                    "price_per_share": _money_out(obj.price_per_share),
                    "valuation_type": obj.valuation_type,
                },
                obj.extra,
            )
        case Financing():
            return _out(
                kind,
                obj.id,
                {
                    "name": obj.name,
                    "date": obj.date.isoformat(),
                    "issuance_ids": list(obj.issuance_ids),
                    "x_roundpool_pre_money": _money_out(obj.pre_money),
                    "x_roundpool_price_per_share": _money_out(obj.price_per_share),
                    "x_roundpool_amount_raised": _money_out(obj.amount_raised),
                },
                obj.extra,
            )
        case Issuance():
            return _issuance_out(kind, obj)
        case SecurityEvent():
            fields = {
                "date": obj.date.isoformat(),
                "security_id": obj.security_id,
                "resulting_security_ids": list(obj.resulting_security_ids)
                if obj.resulting_security_ids
                or obj.action
                in (Action.TRANSFER, Action.REISSUANCE, Action.EXERCISE, Action.RELEASE, Action.CONVERSION)
                else None,
                "balance_security_id": obj.balance_security_id,
                "price": _money_out(obj.price),
                "split_transaction_id": obj.split_transaction_id,
            }
            if obj.kind is SecurityKind.CONVERTIBLE and obj.action is not Action.CONVERSION:
                currency = str(obj.extra.get("amount", {}).get("currency", "USD"))
                fields["amount"] = None if obj.quantity is None else {"amount": str(obj.quantity), "currency": currency}
            elif obj.action is Action.CONVERSION:
                fields["quantity_converted"] = _s(obj.quantity)
            else:
                fields["quantity"] = _s(obj.quantity)
            extra = {k: v for k, v in obj.extra.items() if k != "amount"}
            return _out(kind, obj.id, fields, extra)
        case Consolidation():
            return _out(
                kind,
                obj.id,
                {
                    "date": obj.date.isoformat(),
                    "security_ids": list(obj.security_ids),
                    "resulting_security_id": obj.resulting_security_id,
                },
                obj.extra,
            )
        case StockClassSplit():
            return _out(
                kind,
                obj.id,
                {
                    "date": obj.date.isoformat(),
                    "stock_class_id": obj.stock_class_id,
                    "split_ratio": {"numerator": str(obj.numerator), "denominator": str(obj.denominator)},
                },
                obj.extra,
            )
        case AuthorizedSharesAdjustment():
            return _out(
                kind,
                obj.id,
                {
                    "date": obj.date.isoformat(),
                    "stock_class_id": obj.stock_class_id,
                    "issuer_id": obj.issuer_id,
                    "new_shares_authorized": str(obj.new_shares_authorized),
                },
                obj.extra,
            )
        case ConversionRatioAdjustment():
            extra = dict(obj.extra)
            extra.setdefault(
                "new_ratio_conversion_mechanism",
                {
                    "type": "RATIO_CONVERSION",
                    "rounding_type": "NORMAL",
                    "ratio": {"numerator": str(obj.new_ratio), "denominator": "1"},
                },
            )
            return _out(kind, obj.id, {"date": obj.date.isoformat(), "stock_class_id": obj.stock_class_id}, extra)
        case PoolAdjustment():
            return _out(
                kind,
                obj.id,
                {
                    "date": obj.date.isoformat(),
                    "stock_plan_id": obj.stock_plan_id,
                    "shares_reserved": str(obj.shares_reserved),
                },
                obj.extra,
            )
        case VestingEvent():
            return _out(
                kind,
                obj.id,
                {
                    "date": obj.date.isoformat(),
                    "security_id": obj.security_id,
                    "vesting_condition_id": obj.condition_id,
                    "quantity": _s(obj.quantity),
                },
                obj.extra,
            )
        case OtherEvent():
            return _out(
                kind,
                obj.id,
                {
                    "date": obj.date.isoformat(),
                    "security_id": obj.security_id,
                    "stakeholder_id": obj.stakeholder_id,
                    "stock_plan_id": obj.stock_plan_id,
                    "quantity": _s(obj.quantity),
                },
                obj.extra,
            )
    raise TypeError(f"cannot export {type(obj).__name__}")


def _issuance_out(kind: str, obj: Issuance) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "date": obj.date.isoformat(),
        "security_id": obj.security_id,
        "custom_id": obj.custom_id or obj.security_id,
        "stakeholder_id": obj.stakeholder_id,
        "stock_class_id": obj.stock_class_id,
        "stock_plan_id": obj.stock_plan_id,
        "vesting_terms_id": obj.vesting_terms_id,
        "compensation_type": obj.compensation_type,
        "vestings": [{"date": d.isoformat(), "amount": str(a)} for d, a in obj.vestings] or None,
    }
    extra = dict(obj.extra)
    extra.setdefault("security_law_exemptions", [])
    if obj.kind is SecurityKind.CONVERTIBLE:
        instrument = obj.convertible_type or ConvertibleType.SAFE
        fields["convertible_type"] = "SAFE" if instrument is ConvertibleType.J_KISS else instrument.value
        if instrument is ConvertibleType.J_KISS:
            fields["x_roundpool_instrument"] = "J_KISS"
        fields["investment_amount"] = _money_out(obj.price)
        extra.setdefault("conversion_triggers", _triggers_out(obj))
        extra.setdefault("seniority", 1)
        return _out(kind, obj.id, fields, extra)
    fields["quantity"] = _s(obj.quantity)
    price_key = "share_price" if obj.kind is SecurityKind.STOCK else "exercise_price"
    fields[price_key] = _money_out(obj.price)
    if obj.kind is SecurityKind.STOCK:
        extra.setdefault("stock_legend_ids", [])
    elif obj.kind is SecurityKind.EQUITY_COMPENSATION:
        extra.setdefault("termination_exercise_windows", [])
    elif obj.kind is SecurityKind.WARRANT:
        extra.setdefault("exercise_triggers", [])
    return _out(kind, obj.id, fields, extra)


def _triggers_out(obj: Issuance) -> list[dict[str, Any]]:
    terms = obj.terms or ConvertibleTerms()
    currency = obj.price.currency if obj.price else "USD"
    mechanism: dict[str, Any] = {
        "type": "CONVERTIBLE_NOTE_CONVERSION" if obj.convertible_type is ConvertibleType.NOTE else "SAFE_CONVERSION"
    }
    if terms.valuation_cap is not None:
        mechanism["conversion_valuation_cap"] = {"amount": str(terms.valuation_cap), "currency": currency}
    if terms.discount is not None:
        mechanism["conversion_discount"] = str(terms.discount)
    if terms.interest_rate is not None:
        mechanism["interest_rates"] = [{"rate": str(terms.interest_rate), "accrual_start_date": obj.date.isoformat()}]
        mechanism["day_count_convention"] = "ACTUAL_365"
    if mechanism["type"] == "SAFE_CONVERSION":
        mechanism["conversion_timing"] = "POST_MONEY" if terms.post_money else "PRE_MONEY"
    return [
        {
            "trigger_id": f"{obj.security_id}.TRIG.1",
            "type": "AUTOMATIC_ON_CONDITION",
            "conversion_right": {
                "type": "CONVERTIBLE_CONVERSION_RIGHT",
                "conversion_mechanism": mechanism,
                "converts_to_future_round": True,
            },
        }
    ]


def _condition_out(c: VestingCondition) -> dict[str, Any]:
    if c.extra:
        return {"id": c.id, **c.extra, "next_condition_ids": list(c.next_condition_ids)}
    trigger: dict[str, Any] = {"type": c.trigger}
    if c.trigger == "VESTING_SCHEDULE_RELATIVE":
        trigger["period"] = {
            "length": c.period_length,
            "type": c.period_type,
            "occurrences": c.occurrences,
            "day_of_month": "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH",
        }
        trigger["relative_to_condition_id"] = c.relative_to
    elif c.trigger == "VESTING_SCHEDULE_ABSOLUTE" and c.absolute_date:
        trigger["date"] = c.absolute_date.isoformat()
    out: dict[str, Any] = {"id": c.id, "trigger": trigger, "next_condition_ids": list(c.next_condition_ids)}
    if c.portion is not None:
        out["portion"] = {"numerator": str(c.portion[0]), "denominator": str(c.portion[1])}
        if c.remainder:
            out["portion"]["remainder"] = True
    else:
        out["quantity"] = str(c.quantity or 0)
    return out
