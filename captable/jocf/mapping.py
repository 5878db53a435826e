"""JOCF items → the ledger's OCF-shaped items.

The ledger is OCF-shaped, so a JOCF item becomes the OCF item of the same meaning (普通株式/種類株式 → a
COMMON/PREFERRED stock class with its preference and conversion terms; J-KISS → a convertible marked J_KISS;
新株予約権 → an option grant; 株式分割/併合 → a class split) and keeps its whole JOCF original under
``x_jocf``, from which the export writes it back. Quantities JOCF counts in units (個: a J-KISS or a stock
option) become what the ledger counts: money for a convertible, shares for an option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

ORIGINAL = "x_jocf"
J_KISS = ("J-KISS_1", "J-KISS_2")

# JOCF object_type → the OCF file its mapped item belongs in
OCF_FILES = {
    "SECURITY_HOLDER": "OCF_STAKEHOLDERS_FILE",
    "STOCK_CLASS": "OCF_STOCK_CLASSES_FILE",
    "MASTER_SECURITYHOLDERS_AGREEMENT": "JOCF_SECURITYHOLDERS_AGREEMENT_FILE",
    "ACQUISITION_DISTRIBUTION_AGREEMENT": "JOCF_SECURITYHOLDERS_AGREEMENT_FILE",
}
# OCF field → the JOCF field a problem about it names
JOCF_FIELDS = {
    "stakeholder_id": "securityholder_id",
    "stakeholder_type": "security_holder_type",
    "exercise_price": "unit_price",
}


def unit_values(items: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """security_id → what one JOCF unit is worth in ledger terms (money per J-KISS unit, shares per option)."""
    values: dict[str, Decimal] = {}
    for item in items:
        security = item.get("security_id")
        if not isinstance(security, str):
            continue
        if item.get("object_type") == "TX_CONVERTIBLE_ISSUANCE":
            per = _amount(item.get("investment_amount_per_quantity"))
            total, count = _amount(item.get("investment_amount")), _number(item.get("quantity"))
            if per is None and total is not None and count:
                per = total / count
            if per is not None:
                values[security] = per
        elif item.get("object_type") == "TX_STOCK_OPTION_ISSUANCE":
            values[security] = _number(item.get("share_per_unit")) or Decimal(1)
    return values


def to_ocf(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> tuple[str, dict[str, Any]]:
    """(OCF file type, OCF item) for a JOCF item that passed schema validation."""
    kind = str(item["object_type"])
    if kind in OCF_FILES and OCF_FILES[kind].startswith("JOCF_"):
        return OCF_FILES[kind], dict(item)
    mapper = _MAPPERS.get(kind)
    if mapper is None:
        raise ValueError(f"JOCF {kind} has no ledger meaning")
    out = mapper(item, units)
    out.setdefault("id", item["id"])
    out[ORIGINAL] = dict(item)
    return OCF_FILES.get(kind, "OCF_TRANSACTIONS_FILE"), out


def _security_holder(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    return {
        "object_type": "STAKEHOLDER",
        "name": item["name"],
        "stakeholder_type": item.get("security_holder_type", "INDIVIDUAL"),
    }


def _stock_class(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    attributes = item.get("preffered_stock_attributes") or {}
    liquidation = attributes.get("liquidation_preference_attributes") or {}
    authorized = item.get("initial_shares_authorized", "NOT APPLICABLE")
    out: dict[str, Any] = {
        "object_type": "STOCK_CLASS",
        "name": item["name"],
        "class_type": item["class_type"],
        "default_id_prefix": f"{str(item['id'])[:8]}-",
        "initial_shares_authorized": authorized,
        "votes_per_share": item.get("votes_per_share", "1"),
        "seniority": str(liquidation.get("seniority", "1")),
    }
    if "liquidation_preference_multiple" in liquidation:
        out["liquidation_preference_multiple"] = liquidation["liquidation_preference_multiple"]
    rights = [
        {"conversion_mechanism": right["conversion_mechanism"], "converts_to_stock_class_id": target}
        for trigger in attributes.get("conversion_triggers") or []
        if isinstance(right := trigger.get("conversion_right"), Mapping)
        and isinstance(target := right.get("converts_to_stock_class_id"), str)
        and isinstance(right.get("conversion_mechanism"), Mapping)
    ]
    if rights:
        out["conversion_rights"] = rights[:1]
    return out


def _issuance_base(item: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {
        "object_type": kind,
        "date": item["date"],
        "security_id": item["security_id"],
        "custom_id": item["security_id"],
        "stakeholder_id": item["securityholder_id"],
        "security_law_exemptions": [],
    }


def _stock_issuance(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    return {
        **_issuance_base(item, "TX_STOCK_ISSUANCE"),
        "stock_class_id": item["stock_class_id"],
        "share_price": item["share_price"],
        "quantity": item["quantity"],
        "stock_legend_ids": [],
    }


def _convertible_issuance(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    kind = item["convertible_type"]
    out = {
        **_issuance_base(item, "TX_CONVERTIBLE_ISSUANCE"),
        "convertible_type": "SAFE" if kind in J_KISS or kind == "SAFE" else "CONVERTIBLE_SECURITY",
        "investment_amount": item["investment_amount"],
        "seniority": item["seniority"],
        "conversion_triggers": [],
    }
    if kind in J_KISS:
        out["x_roundpool_instrument"] = "J_KISS"
    for trigger in item.get("conversion_triggers") or []:
        mechanism = (trigger.get("conversion_right") or {}).get("conversion_mechanism") or {}
        if mechanism.get("type") != "J-KISS_CONVERSION":
            continue
        terms: dict[str, Any] = {"type": "SAFE_CONVERSION", "conversion_timing": "PRE_MONEY"}
        if "money_valuation_cap" in mechanism:
            terms["conversion_valuation_cap"] = mechanism["money_valuation_cap"]
        if "conversion_price_discount" in mechanism:
            terms["conversion_discount"] = mechanism["conversion_price_discount"]
        out["conversion_triggers"] = [
            {
                "trigger_id": trigger.get("trigger_id"),
                "type": trigger.get("type", "AUTOMATIC_ON_CONDITION"),
                "conversion_right": {
                    "type": "CONVERTIBLE_CONVERSION_RIGHT",
                    "conversion_mechanism": terms,
                    "converts_to_future_round": True,
                },
            }
        ]
        break
    return out


def _option_issuance(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    per_unit = _number(item.get("share_per_unit")) or Decimal(1)
    price = _amount(item.get("unit_price"))
    out = {
        **_issuance_base(item, "TX_EQUITY_COMPENSATION_ISSUANCE"),
        "compensation_type": "OPTION",
        "quantity": str((_number(item["quantity"]) or Decimal(0)) * per_unit),
        "expiration_date": None,
        "termination_exercise_windows": [],
    }
    if price is not None:
        out["exercise_price"] = {"amount": str(price / per_unit), "currency": item["unit_price"]["currency"]}
    return out


def _in_shares(item: Mapping[str, Any], field: str, units: Mapping[str, Decimal]) -> str:
    count = _number(item[field]) or Decimal(0)
    return str(count * units.get(str(item.get("security_id")), Decimal(1)))


def _option_exercise(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    return {
        "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
        "date": item["date"],
        "security_id": item["security_id"],
        "quantity": _in_shares(item, "quantity", units),
        "resulting_security_ids": item.get("resulting_security_ids", []),
    }


def _option_cancellation(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    return {
        "object_type": "TX_EQUITY_COMPENSATION_CANCELLATION",
        "date": item["date"],
        "security_id": item["security_id"],
        "quantity": _in_shares(item, "quantity", units),
        "reason_text": "新株予約権の消却 (JOCF cancellation)",
    }


def _convertible_conversion(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    out = {
        "object_type": "TX_CONVERTIBLE_CONVERSION",
        "date": item["date"],
        "security_id": item["security_id"],
        "resulting_security_ids": item["resulting_security_ids"],
        "reason_text": item["reason_text"],
        "trigger_id": item["trigger_id"],
    }
    if "quantity_converted" in item and item["security_id"] in units:
        out["quantity_converted"] = _in_shares(item, "quantity_converted", units)
    if "balance_security_id" in item:
        out["balance_security_id"] = item["balance_security_id"]
    return out


_Mapper = Callable[[Mapping[str, Any], Mapping[str, Decimal]], dict[str, Any]]


def _same(kind: str, *fields: str) -> _Mapper:
    def mapper(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
        return {"object_type": kind, **{f: item[f] for f in ("date", *fields) if f in item}}

    return mapper


def _split(item: Mapping[str, Any], units: Mapping[str, Decimal]) -> dict[str, Any]:
    ratio = item.get("split_ratio")
    if ratio is None:  # 株式併合: merger_ratio n:d merges n shares into d
        merger = item["merger_ratio"]
        ratio = {"numerator": merger["denominator"], "denominator": merger["numerator"]}
    return {
        "object_type": "TX_STOCK_CLASS_SPLIT",
        "date": item["date"],
        "stock_class_id": item["stock_class_id"],
        "split_ratio": ratio,
    }


_TRANSFER = ("security_id", "resulting_security_ids", "balance_security_id")
_MAPPERS: dict[str, _Mapper] = {
    "SECURITY_HOLDER": _security_holder,
    "STOCK_CLASS": _stock_class,
    "TX_STOCK_ISSUANCE": _stock_issuance,
    "TX_CONVERTIBLE_ISSUANCE": _convertible_issuance,
    "TX_STOCK_OPTION_ISSUANCE": _option_issuance,
    "TX_STOCK_OPTION_EXERCISE": _option_exercise,
    "TX_STOCK_OPTION_CANCELLATION": _option_cancellation,
    "TX_CONVERTIBLE_CONVERSION": _convertible_conversion,
    "TX_STOCK_CONVERSION": _same("TX_STOCK_CONVERSION", "security_id", "quantity_converted", "resulting_security_ids"),
    "TX_STOCK_TRANSFER": _same("TX_STOCK_TRANSFER", "quantity", *_TRANSFER),
    "TX_CONVERTIBLE_TRANSFER": _same("TX_CONVERTIBLE_TRANSFER", "amount", *_TRANSFER),
    "TX_STOCK_REPURCHASE": _same("TX_STOCK_REPURCHASE", "security_id", "price", "quantity", "balance_security_id"),
    "TX_STOCK_SPLIT": _split,
    "TX_STOCK_MERGER": _split,
    "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT": _same(
        "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT", "stock_class_id", "new_ratio_conversion_mechanism"
    ),
    "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT": _same(
        "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT", "stock_class_id", "new_shares_authorized"
    ),
    "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT": _same(
        "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT", "issuer_id", "new_shares_authorized"
    ),
    "TX_SECURITYHOLDERS_AGREEMENT_EXECUTION": _same("TX_SECURITYHOLDERS_AGREEMENT_EXECUTION"),
    "TX_SECURITYHOLDERS_AGREEMENT_MODIFICATION": _same("TX_SECURITYHOLDERS_AGREEMENT_MODIFICATION"),
    "TX_SECURITYHOLDERS_AGREEMENT_TERMINATION": _same("TX_SECURITYHOLDERS_AGREEMENT_TERMINATION"),
}
MAPPED_TYPES = frozenset(_MAPPERS) | frozenset(OCF_FILES)


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except InvalidOperation:
        return None


def _amount(value: Any) -> Decimal | None:
    return _number(value.get("amount")) if isinstance(value, Mapping) else None
