"""Typed inputs for the common ledger events. Each becomes the OCF item it stands for and then takes the same
path as `recordCapTableEvents`: validated by `object_type`, then with the whole ledger."""

from __future__ import annotations

import datetime
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry


def _n(value: Decimal) -> str:
    return format(value, "f")


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


@strawberry.input
class MoneyInput:
    amount: Decimal
    currency: str

    def ocf(self) -> dict[str, str]:
        return {"amount": _n(self.amount), "currency": self.currency}


def _money(value: MoneyInput | None) -> dict[str, str] | None:
    return None if value is None else value.ocf()


@strawberry.enum
class StakeholderType(Enum):
    INDIVIDUAL = "INDIVIDUAL"
    INSTITUTION = "INSTITUTION"


@strawberry.enum
class StockClassType(Enum):
    COMMON = "COMMON"
    PREFERRED = "PREFERRED"


@strawberry.enum
class CompensationType(Enum):
    OPTION = "OPTION"
    OPTION_ISO = "OPTION_ISO"
    OPTION_NSO = "OPTION_NSO"
    RSU = "RSU"


@strawberry.enum  # not captable's ConvertibleType: issuing builds SAFE or note terms, CONVERTIBLE_SECURITY is imported
class ConvertibleType(Enum):
    SAFE = "SAFE"
    NOTE = "NOTE"
    J_KISS = "J_KISS"


@strawberry.input
class CreateStakeholderInput:
    id: str
    name: str
    stakeholder_type: StakeholderType = StakeholderType.INDIVIDUAL

    def ocf(self) -> dict[str, Any]:
        return {
            "object_type": "STAKEHOLDER",
            "id": self.id,
            "name": {"legal_name": self.name},
            "stakeholder_type": self.stakeholder_type.value,
        }


@strawberry.input
class CreateStockClassInput:
    id: str
    name: str
    class_type: StockClassType
    authorized_shares: Decimal
    default_id_prefix: str = "CS-"
    votes_per_share: Decimal = Decimal(1)
    seniority: Decimal = Decimal(1)
    price_per_share: MoneyInput | None = None
    liquidation_preference_multiple: Decimal | None = None
    participation_cap_multiple: Decimal | None = None
    converts_to_stock_class_id: str | None = None
    conversion_ratio: Decimal = Decimal(1)

    def ocf(self) -> dict[str, Any]:
        rights = None
        if self.converts_to_stock_class_id:
            ratio = self.conversion_ratio.as_integer_ratio()
            rights = [
                {
                    "type": "STOCK_CLASS_CONVERSION_RIGHT",
                    "converts_to_stock_class_id": self.converts_to_stock_class_id,
                    "conversion_mechanism": {
                        "type": "RATIO_CONVERSION",
                        "ratio": {"numerator": str(ratio[0]), "denominator": str(ratio[1])},
                        "rounding_type": "NORMAL",
                    },
                }
            ]
        return _clean(
            {
                "object_type": "STOCK_CLASS",
                "id": self.id,
                "name": self.name,
                "class_type": self.class_type.value,
                "default_id_prefix": self.default_id_prefix,
                "initial_shares_authorized": _n(self.authorized_shares),
                "votes_per_share": _n(self.votes_per_share),
                "seniority": _n(self.seniority),
                "price_per_share": _money(self.price_per_share),
                "liquidation_preference_multiple": _n(self.liquidation_preference_multiple)
                if self.liquidation_preference_multiple is not None
                else None,
                "participation_cap_multiple": _n(self.participation_cap_multiple)
                if self.participation_cap_multiple is not None
                else None,
                "conversion_rights": rights,
            }
        )


@strawberry.input
class CreateStockPlanInput:
    id: str
    name: str
    reserved_shares: Decimal
    stock_class_ids: list[str]

    def ocf(self) -> dict[str, Any]:
        return {
            "object_type": "STOCK_PLAN",
            "id": self.id,
            "plan_name": self.name,
            "initial_shares_reserved": _n(self.reserved_shares),
            "stock_class_ids": list(self.stock_class_ids),
        }


def _issuance(kind: str, event_id: str, when: date, security_id: str, stakeholder_id: str) -> dict[str, Any]:
    return {
        "object_type": kind,
        "id": event_id,
        "date": when.isoformat(),
        "security_id": security_id,
        "custom_id": security_id,
        "stakeholder_id": stakeholder_id,
        "security_law_exemptions": [],
    }


@strawberry.input
class IssueStockInput:
    id: str
    date: date
    security_id: str
    stakeholder_id: str
    stock_class_id: str
    quantity: Decimal
    share_price: MoneyInput
    stock_plan_id: str | None = None

    def ocf(self) -> dict[str, Any]:
        item = _issuance("TX_STOCK_ISSUANCE", self.id, self.date, self.security_id, self.stakeholder_id)
        item.update(
            stock_class_id=self.stock_class_id,
            quantity=_n(self.quantity),
            share_price=self.share_price.ocf(),
            stock_legend_ids=[],
        )
        if self.stock_plan_id:
            item["stock_plan_id"] = self.stock_plan_id
        return item


@strawberry.input
class TransferStockInput:
    id: str
    date: date
    security_id: str
    quantity: Decimal
    resulting_security_ids: list[str]
    balance_security_id: str | None = None

    def ocf(self) -> dict[str, Any]:
        return _clean(
            {
                "object_type": "TX_STOCK_TRANSFER",
                "id": self.id,
                "date": self.date.isoformat(),
                "security_id": self.security_id,
                "quantity": _n(self.quantity),
                "resulting_security_ids": list(self.resulting_security_ids),
                "balance_security_id": self.balance_security_id,
            }
        )


@strawberry.input
class CancelStockInput:
    id: str
    date: date
    security_id: str
    quantity: Decimal
    reason: str
    balance_security_id: str | None = None

    def ocf(self) -> dict[str, Any]:
        return _clean(
            {
                "object_type": "TX_STOCK_CANCELLATION",
                "id": self.id,
                "date": self.date.isoformat(),
                "security_id": self.security_id,
                "quantity": _n(self.quantity),
                "reason_text": self.reason,
                "balance_security_id": self.balance_security_id,
            }
        )


@strawberry.input
class GrantEquityCompensationInput:
    id: str
    date: date
    security_id: str
    stakeholder_id: str
    stock_plan_id: str
    quantity: Decimal
    expiration_date: datetime.date  # the field `date` above shadows the class here
    exercise_price: MoneyInput | None = None
    compensation_type: CompensationType = CompensationType.OPTION
    stock_class_id: str | None = None
    vesting_terms_id: str | None = None

    def ocf(self) -> dict[str, Any]:
        item = _issuance("TX_EQUITY_COMPENSATION_ISSUANCE", self.id, self.date, self.security_id, self.stakeholder_id)
        item.update(
            _clean(
                {
                    "compensation_type": self.compensation_type.value,
                    "quantity": _n(self.quantity),
                    "expiration_date": self.expiration_date.isoformat(),
                    "termination_exercise_windows": [],
                    "stock_plan_id": self.stock_plan_id,
                    "stock_class_id": self.stock_class_id,
                    "vesting_terms_id": self.vesting_terms_id,
                    "exercise_price": _money(self.exercise_price),
                }
            )
        )
        return item


@strawberry.input
class ExerciseEquityCompensationInput:
    id: str
    date: date
    security_id: str
    quantity: Decimal
    resulting_security_ids: list[str]

    def ocf(self) -> dict[str, Any]:
        return {
            "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
            "id": self.id,
            "date": self.date.isoformat(),
            "security_id": self.security_id,
            "quantity": _n(self.quantity),
            "resulting_security_ids": list(self.resulting_security_ids),
        }


@strawberry.input
class IssueConvertibleInput:
    id: str
    date: date
    security_id: str
    stakeholder_id: str
    convertible_type: ConvertibleType
    investment_amount: MoneyInput
    valuation_cap: MoneyInput | None = None
    discount: Decimal | None = strawberry.field(default=None, description="A fraction: 0.2 is 20 % off.")
    interest_rate: Decimal | None = strawberry.field(default=None, description="Simple annual rate (notes).")
    post_money: bool = False

    def ocf(self) -> dict[str, Any]:
        item = _issuance("TX_CONVERTIBLE_ISSUANCE", self.id, self.date, self.security_id, self.stakeholder_id)
        instrument = self.convertible_type.value
        mechanism = _clean(
            {
                "type": "NOTE_CONVERSION" if instrument == "NOTE" else "SAFE_CONVERSION",
                "conversion_valuation_cap": _money(self.valuation_cap),
                "conversion_discount": _n(self.discount) if self.discount is not None else None,
                "interest_rates": [{"rate": _n(self.interest_rate), "accrual_start_date": self.date.isoformat()}]
                if self.interest_rate is not None
                else None,
                "conversion_timing": "POST_MONEY" if self.post_money else "PRE_MONEY",
            }
        )
        item.update(
            convertible_type="SAFE" if instrument == "J_KISS" else instrument,
            investment_amount=self.investment_amount.ocf(),
            conversion_triggers=[
                {
                    "type": "AUTOMATIC_ON_CONDITION",
                    "trigger_id": f"{self.id}-trigger",
                    "conversion_right": {"type": "CONVERTIBLE_CONVERSION_RIGHT", "conversion_mechanism": mechanism},
                }
            ],
            seniority=1,
        )
        if instrument == "J_KISS":
            item["x_roundpool_instrument"] = "J_KISS"
        return item


@strawberry.input
class AdjustStockPlanPoolInput:
    id: str
    date: date
    stock_plan_id: str
    shares_reserved: Decimal = strawberry.field(description="The new total reserve of the plan.")

    def ocf(self) -> dict[str, Any]:
        return {
            "object_type": "TX_STOCK_PLAN_POOL_ADJUSTMENT",
            "id": self.id,
            "date": self.date.isoformat(),
            "stock_plan_id": self.stock_plan_id,
            "shares_reserved": _n(self.shares_reserved),
        }


@strawberry.input
class SplitStockClassInput:
    id: str
    date: date
    stock_class_id: str
    numerator: Decimal
    denominator: Decimal

    def ocf(self) -> dict[str, Any]:
        return {
            "object_type": "TX_STOCK_CLASS_SPLIT",
            "id": self.id,
            "date": self.date.isoformat(),
            "stock_class_id": self.stock_class_id,
            "split_ratio": {"numerator": _n(self.numerator), "denominator": _n(self.denominator)},
        }


@strawberry.input
class RecordFinancingInput:
    id: str
    name: str
    date: date
    issuance_ids: list[str]
    pre_money: MoneyInput | None = None
    price_per_share: MoneyInput | None = None
    amount_raised: MoneyInput | None = None

    def ocf(self) -> dict[str, Any]:
        return _clean(
            {
                "object_type": "FINANCING",
                "id": self.id,
                "name": self.name,
                "date": self.date.isoformat(),
                "issuance_ids": list(self.issuance_ids),
                "x_roundpool_pre_money": _money(self.pre_money),
                "x_roundpool_price_per_share": _money(self.price_per_share),
                "x_roundpool_amount_raised": _money(self.amount_raised),
            }
        )


@strawberry.input
class RecordValuationInput:
    id: str
    stock_class_id: str
    price_per_share: MoneyInput
    effective_date: date

    def ocf(self) -> dict[str, Any]:
        return {
            "object_type": "VALUATION",
            "id": self.id,
            "stock_class_id": self.stock_class_id,
            "price_per_share": self.price_per_share.ocf(),
            "effective_date": self.effective_date.isoformat(),
            "valuation_type": "409A",
        }
