"""Cost categories: ordered rules over tags, accounts and services name the category of every row; shared
costs are split across target categories.

A :class:`Match` holds conditions on tags (key → accepted values; an empty set accepts any value of a present
key), accounts and services: every given field must match (AND), any listed value within one field (OR); an
empty :class:`Match` matches every row. Rules are tried in order and the first that matches wins; a row that no
rule matches goes to ``default``. A :class:`SharedRule`'s rows form a pool split across its targets:

- ``EVEN``: equal parts;
- ``PROPORTIONAL``: in proportion to each target's direct cost (from :class:`CategoryRule` rows and the default);
  when the targets' direct costs sum to 0, evenly;
- ``FIXED``: the given percentages, which must cover exactly the targets and sum to 100.

Splits use :func:`cost.billing.money.split_exact` (largest remainder, ties to the earlier target) at the
given quantum (default 10^-18, the schema's scale), so the categories' totals sum to the rows' total exactly.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cost.billing.errors import ConfigurationError, InvalidSharesError
from cost.billing.money import EXACT, ROW_QUANTUM, ZERO, as_decimal, split_exact
from cost.billing.rating import frame_of, operator_cost
from cost.columns import MONEY


class SplitMethod(enum.StrEnum):
    EVEN = "EVEN"
    PROPORTIONAL = "PROPORTIONAL"
    FIXED = "FIXED"


@dataclass(frozen=True)
class Match:
    tags: Mapping[str, Collection[str]] = field(default_factory=dict)
    accounts: Collection[str] = ()
    services: Collection[str] = ()

    def mask(self, frame: Mapping[str, pa.Array]) -> np.ndarray:
        n = len(frame["SubAccountId"])
        result = np.ones(n, dtype=bool)
        parts: list[pa.Array] = []
        if self.accounts:
            parts.append(pc.is_in(frame["SubAccountId"], value_set=pa.array(sorted(self.accounts), pa.string())))
        if self.services:
            parts.append(pc.is_in(frame["ServiceName"], value_set=pa.array(sorted(self.services), pa.string())))
        for key, values in self.tags.items():
            found = pc.map_lookup(frame["Tags"], pa.scalar(key), "first")
            if values:
                parts.append(pc.is_in(found, value_set=pa.array(sorted(values), pa.string())))
            else:
                parts.append(pc.is_valid(found))
        for part in parts:
            result &= np.asarray(pc.fill_null(part, False).to_numpy(zero_copy_only=False), dtype=bool)
        return result


@dataclass(frozen=True)
class CategoryRule:
    category: str
    match: Match = field(default_factory=Match)


@dataclass(frozen=True)
class SharedRule:
    name: str
    targets: tuple[str, ...]
    method: SplitMethod = SplitMethod.EVEN
    match: Match = field(default_factory=Match)
    shares: Mapping[str, Decimal] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "method", SplitMethod(self.method))
        if not self.targets or len(set(self.targets)) != len(self.targets):
            raise InvalidSharesError(f"shared rule {self.name!r} needs distinct targets")
        if self.method is SplitMethod.FIXED:
            if self.shares is None or set(self.shares) != set(self.targets):
                raise InvalidSharesError(f"fixed shares of {self.name!r} must name exactly its targets")
            shares = {k: as_decimal(v, f"share of {k}") for k, v in self.shares.items()}
            if any(v < 0 for v in shares.values()) or sum(shares.values(), ZERO) != 100:
                raise InvalidSharesError(f"fixed shares of {self.name!r} must be ≥ 0 and sum to 100")
            object.__setattr__(self, "shares", MappingProxyType(shares))
        elif self.shares is not None:
            raise InvalidSharesError(f"shares are only for FIXED splits ({self.name!r} is {self.method})")


@dataclass(frozen=True)
class CostCategories:
    rules: tuple[CategoryRule | SharedRule, ...]
    default: str = "Uncategorised"

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        names = [r.name for r in self.rules if isinstance(r, SharedRule)]
        if len(set(names)) != len(names):
            raise ConfigurationError("two shared rules have the same name")


@dataclass(frozen=True)
class Allocation:
    """Per category: ``direct`` cost, ``shared`` cost received, ``totals`` = direct + shared.
    ``pools`` is each shared rule's pool before the split. ``sum(totals) == sum(amounts)`` exactly."""

    direct: dict[str, Decimal]
    shared: dict[str, Decimal]
    totals: dict[str, Decimal]
    pools: dict[str, Decimal]


def categorise(rows: pa.Table | pa.RecordBatch, categories: CostCategories) -> np.ndarray:
    """Index into ``categories.rules`` of the first matching rule per row, or -1 (default)."""
    frame = frame_of(rows)
    n = len(frame["SubAccountId"])
    chosen = np.full(n, -1, dtype=np.int64)
    for index, rule in enumerate(categories.rules):
        free = chosen == -1
        if not free.any():
            break
        chosen[free & rule.match.mask(frame)] = index
    return chosen


def allocate(
    rows: pa.Table | pa.RecordBatch,
    categories: CostCategories,
    *,
    amounts: pa.Array | None = None,
    quantum: Decimal = ROW_QUANTUM,
) -> Allocation:
    """Per-category totals of ``amounts`` (default: the operator's amortised cost of each row).

    ``quantum`` is the unit of the shared splits; it must divide every pool (any power of ten ≥ 10^-18 divides
    amounts summed from the store; a coarser one such as 0.01 only rounded amounts)."""
    frame = frame_of(rows)
    values = operator_cost(frame) if amounts is None else amounts
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    chosen = categorise(rows, categories)
    summed = (
        pa.table({"rule": chosen, "amount": pc.fill_null(pc.cast(values, MONEY), Decimal(0))})
        .group_by("rule")
        .aggregate([("amount", "sum")])
        .to_pylist()
    )
    by_rule = {g["rule"]: g["amount_sum"] or ZERO for g in summed}
    direct: dict[str, Decimal] = defaultdict(lambda: ZERO)
    pools: dict[str, Decimal] = {}
    for index, amount in by_rule.items():
        rule = categories.rules[index] if index >= 0 else None
        if isinstance(rule, SharedRule):
            pools[rule.name] = amount
        else:
            name = categories.default if rule is None else rule.category
            direct[name] = EXACT.add(direct[name], amount)
    shared: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for rule in categories.rules:
        if not isinstance(rule, SharedRule) or rule.name not in pools:
            continue
        if rule.method is SplitMethod.EVEN:
            weights = [Decimal(1)] * len(rule.targets)
        elif rule.method is SplitMethod.PROPORTIONAL:
            weights = [direct.get(t, ZERO) for t in rule.targets]
        else:
            assert rule.shares is not None
            weights = [rule.shares[t] for t in rule.targets]
        for target, part in zip(rule.targets, split_exact(pools[rule.name], weights, quantum), strict=True):
            shared[target] = EXACT.add(shared[target], part)
    names = sorted(set(direct) | set(shared))
    return Allocation(
        direct={k: direct.get(k, ZERO) for k in names},
        shared={k: shared.get(k, ZERO) for k in names},
        totals={k: EXACT.add(direct.get(k, ZERO), shared.get(k, ZERO)) for k in names},
        pools=pools,
    )


def category_totals(
    rows: pa.Table | pa.RecordBatch, categories: CostCategories, *, amounts: pa.Array | None = None
) -> dict[str, Decimal]:
    return allocate(rows, categories, amounts=amounts).totals


__all__ = [
    "Allocation",
    "CategoryRule",
    "CostCategories",
    "Match",
    "SharedRule",
    "SplitMethod",
    "allocate",
    "categorise",
    "category_totals",
]
