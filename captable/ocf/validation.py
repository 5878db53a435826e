"""Item-level validation of OCF objects by ``object_type``: required fields, types, enums, dates, numbers.

Only the fields the engine reads, plus the required fields of each type, are checked; unknown extra fields
are kept and exported untouched. Legacy names (OCF 1.0/1.1) are normalized by :func:`normalize` first:
``TX_PLAN_SECURITY_*`` → ``TX_EQUITY_COMPENSATION_*``, a stock plan's ``stock_class_id`` →
``stock_class_ids``, a stakeholder's ``current_relationship`` → ``current_relationships``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from captable.problems import Problem

NUMERIC = re.compile(r"^[+-]?\d+(\.\d{1,10})?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")

ENUMS: dict[str, frozenset[str]] = {
    "stakeholder_type": frozenset({"INDIVIDUAL", "INSTITUTION"}),
    "class_type": frozenset({"COMMON", "PREFERRED"}),
    "compensation_type": frozenset({"OPTION_NSO", "OPTION_ISO", "OPTION", "RSU", "CSAR", "SSAR"}),
    "convertible_type": frozenset({"NOTE", "SAFE", "CONVERTIBLE_SECURITY"}),
    "valuation_type": frozenset({"409A"}),
    "allocation_type": frozenset(
        {
            "CUMULATIVE_ROUNDING",
            "CUMULATIVE_ROUND_DOWN",
            "FRONT_LOADED",
            "BACK_LOADED",
            "FRONT_LOADED_TO_SINGLE_TRANCHE",
            "BACK_LOADED_TO_SINGLE_TRANCHE",
            "FRACTIONAL",
        }
    ),
    "default_cancellation_behavior": frozenset(
        {
            "RETIRE",
            "RETURN_TO_POOL",
            "HOLD_AS_CAPITAL_STOCK",
            "DEFINED_PER_PLAN_SECURITY",
        }
    ),
    "option_grant_type": frozenset({"NSO", "ISO", "INTL"}),
    "issuance_type": frozenset({"RSA", "FOUNDERS_STOCK"}),
    "quantity_source": frozenset(
        {
            "HUMAN_ESTIMATED",
            "MACHINE_ESTIMATED",
            "UNSPECIFIED",
            "INSTRUMENT_FIXED",
            "INSTRUMENT_MAX",
            "INSTRUMENT_MIN",
        }
    ),
}

# kind per field: str, date, numeric, money, ratio, int, bool, list[str], list, object, enum (ENUMS by name)
_ID = {"id": "str"}
_TX = {**_ID, "date": "date"}
_SEC = {**_TX, "security_id": "str"}
_ISSUANCE = {**_SEC, "custom_id": "str", "stakeholder_id": "str", "security_law_exemptions": "list"}
_SCHEMAS: dict[str, tuple[dict[str, str], frozenset[str]]] = {}


def _schema(object_type: str, required: dict[str, str], optional: dict[str, str] | None = None) -> None:
    _SCHEMAS[object_type] = ({**required, **(optional or {})}, frozenset(required))


_schema(
    "STAKEHOLDER",
    {**_ID, "name": "object", "stakeholder_type": "enum"},
    {"current_relationships": "list[str]"},
)
_schema(
    "STOCK_CLASS",
    {
        **_ID,
        "name": "str",
        "class_type": "enum",
        "default_id_prefix": "str",
        "initial_shares_authorized": "authorized",
        "votes_per_share": "numeric",
        "seniority": "numeric",
    },
    {
        "liquidation_preference_multiple": "numeric",
        "participation_cap_multiple": "numeric",
        "conversion_rights": "rights",
        "board_approval_date": "date",
        "price_per_share": "money",
        "par_value": "money",
    },
)
_schema(
    "STOCK_PLAN",
    {**_ID, "plan_name": "str", "initial_shares_reserved": "numeric"},
    {"stock_class_ids": "list[str]", "default_cancellation_behavior": "enum", "board_approval_date": "date"},
)
_schema(
    "VESTING_TERMS",
    {**_ID, "name": "str", "description": "str", "allocation_type": "enum", "vesting_conditions": "list"},
)
_schema(
    "VALUATION",
    {
        **_ID,
        "stock_class_id": "str",
        "price_per_share": "money",
        "effective_date": "date",
        "valuation_type": "enum",
    },
)
_schema("FINANCING", {**_ID, "name": "str", "issuance_ids": "list[str]", "date": "date"})
_schema("STOCK_LEGEND_TEMPLATE", {**_ID, "name": "str", "text": "str"})
_schema("DOCUMENT", {**_ID, "md5": "str"})
_schema(
    "TX_STOCK_ISSUANCE",
    {
        **_ISSUANCE,
        "stock_class_id": "str",
        "share_price": "money",
        "quantity": "numeric",
        "stock_legend_ids": "list[str]",
    },
    {"stock_plan_id": "str", "vesting_terms_id": "str", "issuance_type": "enum", "cost_basis": "money"},
)
_schema(
    "TX_EQUITY_COMPENSATION_ISSUANCE",
    {
        **_ISSUANCE,
        "compensation_type": "enum",
        "quantity": "numeric",
        "expiration_date": "date",
        "termination_exercise_windows": "list",
    },
    {
        "stock_plan_id": "str",
        "stock_class_id": "str",
        "vesting_terms_id": "str",
        "exercise_price": "money",
        "option_grant_type": "enum",
        "vestings": "list",
        "base_price": "money",
    },
)
_schema(
    "TX_WARRANT_ISSUANCE",
    {**_ISSUANCE, "exercise_triggers": "list"},
    {"quantity": "numeric", "quantity_source": "enum", "exercise_price": "money", "purchase_price": "money"},
)
_schema(
    "TX_CONVERTIBLE_ISSUANCE",
    {
        **_ISSUANCE,
        "convertible_type": "enum",
        "investment_amount": "money",
        "conversion_triggers": "list",
        "seniority": "int",
    },
)
for _kind in ("STOCK", "EQUITY_COMPENSATION", "WARRANT", "CONVERTIBLE"):
    _schema(f"TX_{_kind}_ACCEPTANCE", _SEC)
    _schema(f"TX_{_kind}_RETRACTION", {**_SEC, "reason_text": "str"})
    _qty = {"amount": "money"} if _kind == "CONVERTIBLE" else {"quantity": "numeric"}
    _schema(f"TX_{_kind}_CANCELLATION", {**_SEC, **_qty, "reason_text": "str"}, {"balance_security_id": "str"})
    _schema(
        f"TX_{_kind}_TRANSFER",
        {**_SEC, **_qty, "resulting_security_ids": "list[str]"},
        {"balance_security_id": "str"},
    )
_schema("TX_STOCK_REPURCHASE", {**_SEC, "price": "money", "quantity": "numeric"}, {"balance_security_id": "str"})
_schema("TX_STOCK_REISSUANCE", {**_SEC, "resulting_security_ids": "list[str]"}, {"split_transaction_id": "str"})
_schema(
    "TX_STOCK_CONVERSION",
    {**_SEC, "quantity_converted": "numeric", "resulting_security_ids": "list[str]"},
    {"balance_security_id": "str"},
)
_schema("TX_STOCK_CONSOLIDATION", {**_TX, "security_ids": "list[str]", "resulting_security_id": "str"})
_schema(
    "TX_CONVERTIBLE_CONVERSION",
    {**_SEC, "resulting_security_ids": "list[str]", "reason_text": "str"},
    {"quantity_converted": "numeric", "trigger_id": "str", "balance_security_id": "str"},
)
_schema(
    "TX_EQUITY_COMPENSATION_EXERCISE",
    {**_SEC, "quantity": "numeric", "resulting_security_ids": "list[str]"},
    {"balance_security_id": "str"},
)
_schema(
    "TX_EQUITY_COMPENSATION_RELEASE",
    {
        **_SEC,
        "quantity": "numeric",
        "resulting_security_ids": "list[str]",
        "release_price": "money",
        "settlement_date": "date",
    },
)
_schema("TX_EQUITY_COMPENSATION_REPRICING", {**_SEC, "new_exercise_price": "money"})
_schema(
    "TX_WARRANT_EXERCISE",
    {**_SEC, "resulting_security_ids": "list[str]"},
    {"quantity": "numeric", "trigger_id": "str", "balance_security_id": "str"},
)
_schema(
    "TX_STOCK_PLAN_RETURN_TO_POOL",
    {**_SEC, "stock_plan_id": "str", "quantity": "numeric", "reason_text": "str"},
)
_schema(
    "TX_STOCK_PLAN_POOL_ADJUSTMENT",
    {**_TX, "stock_plan_id": "str", "shares_reserved": "numeric"},
    {"board_approval_date": "date", "stockholder_approval_date": "date"},
)
_schema("TX_STOCK_CLASS_SPLIT", {**_TX, "stock_class_id": "str", "split_ratio": "ratio"})
_schema(
    "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT",
    {**_TX, "stock_class_id": "str", "new_ratio_conversion_mechanism": "mechanism"},
)
_schema(
    "TX_STOCK_CLASS_AUTHORIZED_SHARES_ADJUSTMENT",
    {**_TX, "stock_class_id": "str", "new_shares_authorized": "numeric"},
    {"board_approval_date": "date", "stockholder_approval_date": "date"},
)
_schema(
    "TX_ISSUER_AUTHORIZED_SHARES_ADJUSTMENT",
    {**_TX, "issuer_id": "str", "new_shares_authorized": "numeric"},
    {"board_approval_date": "date", "stockholder_approval_date": "date"},
)
_schema("TX_VESTING_START", {**_SEC, "vesting_condition_id": "str"})
_schema("TX_VESTING_EVENT", {**_SEC, "vesting_condition_id": "str"})
_schema("TX_VESTING_ACCELERATION", {**_SEC, "quantity": "numeric", "reason_text": "str"})
_schema(
    "CE_STAKEHOLDER_RELATIONSHIP",
    {**_TX, "stakeholder_id": "str"},
    {"relationship_started": "str", "relationship_ended": "str"},
)
_schema("CE_STAKEHOLDER_STATUS", {**_TX, "stakeholder_id": "str", "new_status": "str"})
# JOCF shareholder agreements: kept as they are (the engine does not model them) and exported back to JOCF.
_schema("MASTER_SECURITYHOLDERS_AGREEMENT", _ID)
_schema("ACQUISITION_DISTRIBUTION_AGREEMENT", _ID)
for _action in ("EXECUTION", "MODIFICATION", "TERMINATION"):
    _schema(f"TX_SECURITYHOLDERS_AGREEMENT_{_action}", _TX)

# Required fields that OCF allows to be null (an option grant without expiry).
_NULLABLE = frozenset({("TX_EQUITY_COMPENSATION_ISSUANCE", "expiration_date")})
AUTHORIZED_SHARES = frozenset({"UNLIMITED", "NOT APPLICABLE"})

_LEGACY_PREFIX = "TX_PLAN_SECURITY_"


def normalize(item: Mapping[str, Any]) -> dict[str, Any]:
    """Rename OCF 1.0/1.1 spellings to their 1.2 names (the original item is left untouched)."""
    out = dict(item)
    kind = out.get("object_type")
    if isinstance(kind, str) and kind.startswith(_LEGACY_PREFIX):
        out["object_type"] = "TX_EQUITY_COMPENSATION_" + kind.removeprefix(_LEGACY_PREFIX)
    if kind == "STOCK_PLAN" and "stock_class_id" in out and "stock_class_ids" not in out:
        out["stock_class_ids"] = [out.pop("stock_class_id")]
    if kind == "STAKEHOLDER" and "current_relationship" in out and "current_relationships" not in out:
        out["current_relationships"] = [out.pop("current_relationship")]
    return out


def required_fields(object_type: str) -> frozenset[str]:
    """The fields an item of `object_type` must have (empty for an unknown type)."""
    schema = _SCHEMAS.get(object_type)
    return schema[1] if schema else frozenset()


def validate_item(item: Mapping[str, Any]) -> list[Problem]:
    object_id = item.get("id")
    kind = item.get("object_type")
    oid = object_id if isinstance(object_id, str) and object_id else "?"
    if not isinstance(kind, str) or kind not in _SCHEMAS:
        return [Problem(oid, str(kind), "object_type", f"unknown object_type {kind!r}")]
    fields, required = _SCHEMAS[kind]
    problems = []
    for name, field_kind in fields.items():
        if name not in item or item[name] is None:
            if name in item and (kind, name) in _NULLABLE:
                continue
            if name in required:
                problems.append(Problem(oid, kind, name, "required field is missing"))
            continue
        reason = _check(name, field_kind, item[name])
        if reason:
            problems.append(Problem(oid, kind, name, reason))
    return problems


def _check(name: str, kind: str, value: Any) -> str | None:
    match kind:
        case "str":
            return None if isinstance(value, str) else f"expected a string, got {type(value).__name__}"
        case "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            return None if ok else f"expected an integer, got {value!r}"
        case "bool":
            return None if isinstance(value, bool) else f"expected a boolean, got {value!r}"
        case "date":
            return _date(value)
        case "numeric":
            return _numeric(value)
        case "authorized":
            return None if value in AUTHORIZED_SHARES else _numeric(value)
        case "money":
            if not isinstance(value, dict):
                return "expected a monetary object {amount, currency}"
            amount = _numeric(value.get("amount"))
            if amount:
                return f"amount: {amount}"
            currency = value.get("currency")
            if not isinstance(currency, str) or not CURRENCY.match(currency):
                return f"currency {currency!r} is not an ISO 4217 code"
            return None
        case "ratio":
            if not isinstance(value, dict):
                return "expected a ratio {numerator, denominator}"
            return _numeric(value.get("numerator")) or _numeric(value.get("denominator"))
        case "object":
            return None if isinstance(value, dict) else "expected an object"
        case "mechanism":
            if not isinstance(value, dict):
                return "expected an object"
            ratio = value.get("ratio")
            return None if ratio is None else _prefixed("ratio", _check("ratio", "ratio", ratio))
        case "rights":
            if not isinstance(value, list):
                return "expected an array"
            for n, right in enumerate(value):
                if not isinstance(right, dict):
                    return f"[{n}]: expected an object"
                mechanism = right.get("conversion_mechanism")
                reason = None if mechanism is None else _check("mechanism", "mechanism", mechanism)
                if reason:
                    return f"[{n}].conversion_mechanism: {reason}"
            return None
        case "list":
            return None if isinstance(value, list) else "expected an array"
        case "list[str]":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            return None if ok else "expected an array of strings"
        case "enum":
            allowed = ENUMS[name]
            return None if value in allowed else f"{value!r} is not one of {sorted(allowed)}"
    raise AssertionError(kind)


def _prefixed(where: str, reason: str | None) -> str | None:
    return None if reason is None else f"{where}: {reason}"


def _numeric(value: Any) -> str | None:
    if isinstance(value, str) and NUMERIC.match(value):
        return None
    return f"{value!r} is not a numeric string"


def _date(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a date"
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a valid YYYY-MM-DD date"
    return None if len(value) == 10 else f"{value!r} is not a YYYY-MM-DD date"
