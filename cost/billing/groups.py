"""Billing groups: which customer tenant each cloud account belongs to, over time.

An :class:`Assignment` puts an account in a tenant for the half-open interval ``[valid_from, valid_to)``
(``valid_to=None``: until further notice). An account may move between tenants; its intervals must not overlap.

Split rule (:func:`split_by_tenant`): a row belongs to the tenant whose interval contains its whole charge
period ``[ChargePeriodStart, ChargePeriodEnd)``. A row whose charge period crosses an interval boundary is
split pro rata by time — each part's share is (hours of the charge period inside the interval) / (hours of the
charge period), computed exactly from the microsecond timestamps — and the part not covered by any interval goes
to ``unassigned``. Every money column of the row is split with :func:`cost.billing.money.split_exact` at the
schema's 10^-18 quantum (largest remainder, ties to the earlier interval), so the parts sum to the original
exactly, per column; each part's ChargePeriodStart/End is clipped to its interval. A row without a charge
period, or with an empty one, is placed by its start instant (``BillingPeriodStart`` when it has no start).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cost.billing.errors import ConfigurationError, OverlappingAssignmentError
from cost.billing.money import split_exact
from cost.columns import MONEY

_FAR_FUTURE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Assignment:
    account_id: str
    tenant_id: str
    valid_from: datetime
    valid_to: datetime | None = None

    def __post_init__(self) -> None:
        for value in (self.valid_from, self.valid_to):
            if value is not None and value.tzinfo is None:
                raise ConfigurationError("assignment bounds must be timezone-aware datetimes")
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ConfigurationError(f"assignment of {self.account_id} ends before it starts")


def _micros(value: datetime | None) -> int:
    if value is None:
        return int(_FAR_FUTURE)
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class BillingGroups:
    """The assignment history of every account, validated (no overlaps per account)."""

    def __init__(self, assignments: Iterable[Assignment]) -> None:
        by_account: dict[str, list[Assignment]] = defaultdict(list)
        for assignment in assignments:
            by_account[assignment.account_id].append(assignment)
        for account, history in by_account.items():
            history.sort(key=lambda a: _micros(a.valid_from))
            for earlier, later in itertools.pairwise(history):
                if _micros(earlier.valid_to) > _micros(later.valid_from):
                    raise OverlappingAssignmentError(
                        f"account {account} is assigned to {earlier.tenant_id} and {later.tenant_id} "
                        f"at {later.valid_from.isoformat()}"
                    )
        self._history = dict(by_account)

    def history(self, account_id: str) -> tuple[Assignment, ...]:
        return tuple(self._history.get(account_id, ()))


@dataclass(frozen=True)
class TenantSplit:
    by_tenant: dict[str, pa.Table]
    unassigned: pa.Table


def split_by_tenant(rows: pa.Table | pa.RecordBatch, groups: BillingGroups) -> TenantSplit:
    """Partition rows (of any accounts) by tenant; see the module docstring for the split rule."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows])
    n = table.num_rows
    start, end = _periods(table)
    accounts = table.column("SubAccountId").to_numpy(zero_copy_only=False)
    owner = np.full(n, -1, dtype=np.int64)  # index into tenants, -1 unassigned, -2 needs splitting
    tenants: list[str] = []
    tenant_index: dict[str, int] = {}
    for account in {a for a in accounts if a is not None}:
        history = groups.history(account)
        if not history:
            continue
        mine = accounts == account
        placed = np.zeros(n, dtype=bool)
        for a in history:
            lo, hi = _micros(a.valid_from), _micros(a.valid_to)
            inside = mine & (start >= lo) & (end <= hi)
            owner[inside] = tenant_index.setdefault(a.tenant_id, len(tenant_index))
            placed |= inside
        touches = np.zeros(n, dtype=bool)
        for a in history:
            touches |= (start < _micros(a.valid_to)) & (end > _micros(a.valid_from))
        owner[mine & ~placed & touches] = -2
    tenants = list(tenant_index)
    pieces: dict[int, list[pa.Table]] = defaultdict(list)
    for index in range(-1, len(tenants)):
        selected = np.flatnonzero(owner == index)
        if len(selected):
            pieces[index].append(table.take(pa.array(selected)))
    spanning = np.flatnonzero(owner == -2)
    if len(spanning):
        for index, part in _split_rows(table, spanning, start, end, groups, tenant_index).items():
            pieces[index].append(part)
    tenants = list(tenant_index)
    empty = table.schema.empty_table()
    return TenantSplit(
        by_tenant={t: pa.concat_tables(pieces[i]) for i, t in enumerate(tenants) if pieces[i]},
        unassigned=pa.concat_tables(pieces[-1]) if pieces[-1] else empty,
    )


def rows_for_tenant(rows: pa.Table | pa.RecordBatch, groups: BillingGroups, tenant_id: str) -> pa.Table:
    """This tenant's rows (and row parts), per :func:`split_by_tenant`."""
    split = split_by_tenant(rows, groups)
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows])
    return split.by_tenant.get(tenant_id, table.schema.empty_table())


def _periods(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Charge period bounds in µs; a missing or empty period becomes the instant [start, start]."""

    def micros(name: str) -> np.ndarray:
        if name not in table.column_names:
            return np.full(table.num_rows, np.iinfo(np.int64).min)
        values = pc.cast(table.column(name), pa.int64())
        filled: np.ndarray = pc.fill_null(values, np.iinfo(np.int64).min).to_numpy()
        return filled

    start, end, billing = micros("ChargePeriodStart"), micros("ChargePeriodEnd"), micros("BillingPeriodStart")
    none = np.iinfo(np.int64).min
    start = np.where(start == none, billing, start)
    end = np.where((end == none) | (end < start), start, end)
    # An instant [t, t] is inside [lo, hi) when lo <= t < hi; keep the comparison start >= lo, end <= hi
    # right by treating it as [t, t + 1µs) for placement only.
    end = np.where(end == start, start + 1, end)
    return start, end


def _split_rows(
    table: pa.Table,
    indices: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    groups: BillingGroups,
    tenant_index: dict[str, int],
) -> dict[int, pa.Table]:
    money = [name for name in table.column_names if table.schema.field(name).type == MONEY]
    records = table.take(pa.array(indices)).to_pylist()
    accounts = table.column("SubAccountId")
    out: dict[int, list[dict[str, object]]] = defaultdict(list)
    for record, row in zip(records, indices, strict=True):
        lo, hi = int(start[row]), int(end[row])
        parts: list[tuple[int, int, int]] = []  # (tenant index or -1, clipped start, clipped end)
        cursor = lo
        for a in groups.history(accounts[int(row)].as_py()):
            a_lo, a_hi = max(lo, _micros(a.valid_from)), min(hi, _micros(a.valid_to))
            if a_lo >= a_hi:
                continue
            if a_lo > cursor:
                parts.append((-1, cursor, a_lo))
            parts.append((tenant_index.setdefault(a.tenant_id, len(tenant_index)), a_lo, a_hi))
            cursor = a_hi
        if cursor < hi:
            parts.append((-1, cursor, hi))
        weights = [b - a for _, a, b in parts]
        shares = {name: None if record[name] is None else split_exact(record[name], weights) for name in money}
        for k, (owner, part_lo, part_hi) in enumerate(parts):
            part = dict(record)
            for name in money:
                share = shares[name]
                part[name] = None if share is None else share[k]
            if record.get("ChargePeriodStart") is not None and record.get("ChargePeriodEnd") is not None:
                part["ChargePeriodStart"] = _from_micros(part_lo)
                part["ChargePeriodEnd"] = _from_micros(part_hi)
            out[owner].append(part)
    return {owner: pa.Table.from_pylist(parts, schema=table.schema) for owner, parts in out.items()}


def _from_micros(value: int) -> datetime:
    instant: datetime = pa.scalar(value, pa.timestamp("us", tz="UTC")).as_py()
    return instant
