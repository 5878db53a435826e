"""Rating: the amount a customer is billed for each row, under a plan version.

:func:`rate` classifies every row (vectorised in Arrow), computes its two possible bases (actual cost and public
on-demand, see :mod:`cost.billing.plans`) and its operator cost, sums them exactly per group of rows that share
every input of the rule choice (service, usage type, SKU, role, correction flag) and the reporting keys
(billing period, account, unit, currency), then applies the plan's rule to each group in exact decimals.
Rating is linear, so a group's rated sum equals the sum of its rated rows exactly; the number of groups is
bounded by the distinct SKUs per account, whatever the number of rows.

Row roles, first match wins: excluded (``TAX``, ``CREDIT``, ``MARKETPLACE``, ``SUPPORT``, ``EXCLUDED`` per the
plan's :class:`~cost.billing.plans.Exclusions`), ``COVERED`` / ``COMMITMENT`` (see
:mod:`cost.billing.reservations`), ``DISCOUNT`` (the operator's EDP, bundled, private-rate… discount lines),
``USAGE`` (everything else). Amounts stay in the rows' currency (``BillingCurrency``; ``USD`` when absent).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cost.billing import reservations
from cost.billing.money import EXACT, ZERO
from cost.billing.plans import Base, PlanVersion, Rule
from cost.columns import MONEY, SCHEMA

DEFAULT_CURRENCY = "USD"
DISCOUNT_TYPES = (
    "BundledDiscount",
    "EdpDiscount",
    "PrivateRateDiscount",
    "RiVolumeDiscount",
    "DistributorDiscount",
    "Discount",
)
_BILLING_ENTITY = ("BillingEntity", "bill/BillingEntity", "bill_billing_entity")
_AMORTISED_ZERO = ("SavingsPlanNegation", "SavingsPlanUpfrontFee")


class Role(enum.IntEnum):
    USAGE = 0
    COVERED = 1
    COMMITMENT = 2
    DISCOUNT = 3
    TAX = 4
    CREDIT = 5
    MARKETPLACE = 6
    SUPPORT = 7
    EXCLUDED = 8

    @property
    def excluded(self) -> bool:
        return self >= Role.TAX


@dataclass(frozen=True)
class RatedGroup:
    """Exact sums (no rounding) of a group of rows in their own currency."""

    period: str | None
    account: str | None
    service: str | None
    usage_type: str | None
    sku: str | None
    unit: str | None
    currency: str
    role: Role
    correction: bool
    rule: Rule | None
    base: Decimal
    billed: Decimal
    cost: Decimal
    quantity: Decimal
    rows: int

    @property
    def margin(self) -> Decimal:
        return EXACT.subtract(self.billed, self.cost)


def frame_of(rows: pa.Table | pa.RecordBatch) -> dict[str, pa.Array]:
    """Every column of :data:`cost.columns.SCHEMA` as one contiguous array (nulls for absent columns)."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows])
    n = table.num_rows
    frame: dict[str, pa.Array] = {}
    for f in [*SCHEMA, *(pa.field(name, pa.string()) for name in _BILLING_ENTITY)]:
        if f.name in table.column_names:
            column = table.column(f.name).combine_chunks()
            frame[f.name] = column if column.type == f.type else pc.cast(column, f.type)
        else:
            frame[f.name] = pa.nulls(n, f.type)
    return frame


def operator_cost(rows: pa.Table | pa.RecordBatch | dict[str, pa.Array]) -> pa.Array:
    """What AWS charged the operator for each row, amortised: the CID / CUDOS amortised-cost formula.

    Per the AWS Cloud Intelligence Dashboards (``amortized_cost`` in CID's ``summary_view``; the
    Well-Architected CUR query library ``amortized_cost_by_charge_type.sql``), as computed by
    :func:`cost.amortisation.effective_cost` into ``EffectiveCost`` when a CUR is read::

        SavingsPlanCoveredUsage          → savingsPlan/SavingsPlanEffectiveCost
        SavingsPlanRecurringFee          → TotalCommitmentToDate − UsedCommitment   (EffectiveCost)
        SavingsPlanNegation, SP upfront  → 0
        DiscountedUsage                  → reservation/EffectiveCost
        RIFee                            → unused amortised upfront + unused recurring fee   (EffectiveCost)
        Fee with a reservation ARN       → 0
        anything else                    → lineItem/NetUnblendedCost, else EffectiveCost, else UnblendedCost

    The last line is CID's *net* amortised cost (net of EDP and other discounts) where the CUR has net
    columns; FOCUS rows (no CUR line item type) use their ``EffectiveCost``. Nulls count as 0.
    """
    frame = rows if isinstance(rows, dict) else frame_of(rows)
    zero = pa.scalar(Decimal(0), MONEY)
    kinds = frame["line_item_type"]
    effective = pc.fill_null(frame["EffectiveCost"], zero)
    ordinary = pc.coalesce(
        frame["net_unblended_cost"], frame["EffectiveCost"], frame["unblended_cost"], frame["BilledCost"], zero
    )
    zero_rows = pc.or_(
        reservations.is_in(kinds, *_AMORTISED_ZERO),
        pc.and_(reservations.is_in(kinds, "Fee"), reservations.present(frame["reservation_arn"])),
    )
    return pc.case_when(
        pc.make_struct(
            reservations.is_in(kinds, reservations.COVERED_SP),
            reservations.is_in(kinds, reservations.COVERED_RI),
            zero_rows,
            reservations.is_in(kinds, "RIFee", "SavingsPlanRecurringFee"),
            field_names=["sp", "ri", "zero", "fee"],
        ),
        pc.coalesce(frame["savings_plan_effective_cost"], effective),
        pc.coalesce(frame["reservation_effective_cost"], effective),
        pa.array(np.zeros(len(kinds), dtype=np.int64)).cast(MONEY),
        effective,
        ordinary,
    )


def roles(frame: dict[str, pa.Array], plan: PlanVersion) -> np.ndarray:
    """The :class:`Role` of every row, as int8 codes."""
    n = len(frame["line_item_type"])
    kinds, category, service = frame["line_item_type"], frame["ChargeCategory"], frame["ServiceName"]

    def np_mask(mask: pa.Array) -> np.ndarray:
        return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)

    def eq(values: pa.Array, text: str) -> pa.Array:
        return pc.fill_null(pc.equal(values, text), False)

    exclusions = plan.exclusions
    ordered: list[tuple[Role, pa.Array]] = []
    if exclusions.tax:
        ordered.append((Role.TAX, pc.or_(eq(category, "Tax"), eq(kinds, "Tax"))))
    if exclusions.credits:
        focus_credit = pc.and_(pc.is_null(kinds), eq(category, "Credit"))
        ordered.append((Role.CREDIT, pc.or_(reservations.is_in(kinds, "Credit", "Refund"), focus_credit)))
    if exclusions.marketplace:
        mask = pc.fill_null(pc.match_substring(service, "Marketplace"), False)
        for name in _BILLING_ENTITY:
            mask = pc.or_(mask, eq(frame[name], "AWS Marketplace"))
        ordered.append((Role.MARKETPLACE, mask))
    if exclusions.support:
        ordered.append((Role.SUPPORT, pc.fill_null(pc.starts_with(service, "AWS Support"), False)))
    if exclusions.services:
        ordered.append((Role.EXCLUDED, reservations.is_in(service, *sorted(exclusions.services))))
    ordered += [
        (Role.COVERED, reservations.covered(frame)),
        (Role.COMMITMENT, reservations.commitment(frame)),
        (Role.DISCOUNT, reservations.is_in(kinds, *DISCOUNT_TYPES)),
    ]
    result = np.full(n, int(Role.USAGE), dtype=np.int8)
    for role, mask in reversed(ordered):
        result[np_mask(mask)] = int(role)
    return result


KEYS = ("period", "account", "service", "usage_type", "sku", "unit", "currency", "role", "correction")
_ALWAYS = ("currency", "role", "correction")


def rate(
    rows: pa.Table | pa.RecordBatch, plan: PlanVersion, *, tenant_id: str, by: Sequence[str] = KEYS
) -> list[RatedGroup]:
    """Rate the rows of one tenant under ``plan``: exact sums per group, sorted by their keys.

    Groups are formed by the ``by`` keys (a subset of :data:`KEYS`; currency, role and correction flag are
    always included) and by the rule applied, so ``RatedGroup.rule`` is always the rule of every row in it;
    keys not in ``by`` are ``None`` in the result. The rule is chosen once per distinct (service, usage type,
    SKU); the Python work is per group and per distinct SKU, never per row.
    """
    unknown = set(by) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown grouping keys {sorted(unknown)}")
    keys = [k for k in KEYS if k in by or k in _ALWAYS]
    frame = frame_of(rows)
    zero = pa.scalar(Decimal(0), MONEY)
    role = roles(frame, plan)
    role_array = pa.array(role)
    rule_index = _rule_indices(frame, plan, role)
    cost = operator_cost(frame)
    table = pa.table(
        {
            **_key_columns(frame, keys, role_array),
            "rule": pa.array(rule_index),
            "base": _billing_base(frame, plan, tenant_id, role_array, rule_index, cost),
            "cost": cost,
            "quantity": pc.fill_null(frame["PricingQuantity"], zero),
        }
    )
    grouped = table.group_by([*keys, "rule"], use_threads=False).aggregate(
        [("base", "sum"), ("cost", "sum"), ("quantity", "sum"), ("cost", "count", pc.CountOptions(mode="all"))]
    )
    return sorted((_rated_group(g, plan) for g in grouped.to_pylist()), key=_group_order)


def _billing_base(
    frame: dict[str, pa.Array],
    plan: PlanVersion,
    tenant_id: str,
    role_array: pa.Array,
    rule_index: np.ndarray,
    cost: pa.Array,
) -> pa.Array:
    """Per row, the amount its rule's factor applies to: by role, on the operator's cost or the public price."""
    n = len(frame["line_item_type"])
    zero = pa.scalar(Decimal(0), MONEY)
    public = pc.coalesce(frame["public_on_demand_cost"], cost)
    benefit = reservations.benefits(frame, plan, tenant_id)
    covered_base = pc.if_else(benefit, cost, public)
    commitment_base = pc.if_else(pc.and_(benefit, pc.invert(reservations.negation(frame))), cost, zero)
    rules_public = np.array([r.base is Base.PUBLIC_ON_DEMAND for r in plan.rules] + [False])
    on_public = pa.array(rules_public[rule_index])

    def by_role(usage: pa.Array, discount: pa.Array) -> pa.Array:
        is_role = [pc.equal(role_array, int(r)) for r in (Role.COVERED, Role.COMMITMENT, Role.DISCOUNT)]
        excluded = pc.greater_equal(role_array, int(Role.TAX))
        return pc.case_when(
            pc.make_struct(excluded, *is_role, field_names=["x", "c", "m", "d"]),
            cost,
            covered_base,
            commitment_base,
            discount,
            usage,
        )

    actual = by_role(cost, cost)
    public_base = by_role(public, pa.array(np.zeros(n, dtype=np.int64)).cast(MONEY))
    return pc.if_else(on_public, public_base, actual)


def _key_columns(frame: dict[str, pa.Array], keys: Sequence[str], role_array: pa.Array) -> dict[str, pa.Array]:
    n = len(frame["line_item_type"])
    columns = {
        "period": lambda: pc.strftime(frame["BillingPeriodStart"], format="%Y-%m") if n else pa.array([], pa.string()),
        "account": lambda: frame["SubAccountId"],
        "service": lambda: frame["ServiceName"],
        "usage_type": lambda: frame["usage_type"],
        "sku": lambda: frame["SkuId"],
        "unit": lambda: frame["PricingUnit"],
        "currency": lambda: pc.fill_null(frame["BillingCurrency"], DEFAULT_CURRENCY),
        "role": lambda: role_array,
        "correction": lambda: pc.fill_null(pc.equal(frame["ChargeClass"], "Correction"), False),
    }
    return {k: columns[k]() for k in keys}


def _rated_group(g: dict[str, Any], plan: PlanVersion) -> RatedGroup:
    rule = plan.rules[g["rule"]] if g["rule"] >= 0 else None
    base = g["base_sum"] or ZERO
    return RatedGroup(
        **{k: g.get(k) for k in ("period", "account", "service", "usage_type", "sku", "unit")},
        currency=g["currency"],
        role=Role(g["role"]),
        correction=g["correction"],
        rule=rule,
        base=base,
        billed=base if rule is None else EXACT.multiply(base, rule.factor),
        cost=g["cost_sum"] or ZERO,
        quantity=g["quantity_sum"] or ZERO,
        rows=g["cost_count"],
    )


_NULL = "\x00"


def _rule_indices(frame: dict[str, pa.Array], plan: PlanVersion, role: np.ndarray) -> np.ndarray:
    """Position in ``plan.rules`` of the rule of every row (-1: none, or an excluded row)."""
    n = len(role)
    result = np.full(n, -1, dtype=np.int64)
    if not plan.rules or not n:
        return result
    parts = [pc.fill_null(frame[c], _NULL) for c in ("ServiceName", "usage_type", "SkuId")]
    encoded = pc.binary_join_element_wise(*parts, "\x1f").dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    position = {id(r): i for i, r in enumerate(plan.rules)}
    per_code = np.full(len(encoded.dictionary), -1, dtype=np.int64)
    for code, text in enumerate(encoded.dictionary.to_pylist()):
        service, usage_type, sku = (None if v == _NULL else v for v in text.split("\x1f"))
        rule = plan.rule_for(service, usage_type, sku)
        if rule is not None:
            per_code[code] = position[id(rule)]
    per_row: np.ndarray = per_code[codes]
    per_row[role >= int(Role.TAX)] = -1
    return per_row


def _group_order(g: RatedGroup) -> tuple[object, ...]:
    keys = (g.period, g.account, g.service, g.usage_type, g.sku, g.unit, g.currency, int(g.role), g.correction)
    return (*((v is None, "" if v is None else str(v)) for v in keys), repr(g.rule))
