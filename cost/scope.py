"""Which cost rows a read may touch: (operator, account, time interval) holdings.

Parquet has no row-level security, so every read API of :mod:`cost` takes an :class:`AccountScope`, and
the only way to obtain one is :func:`scope_from_database_rows`, called by the database layer with the rows
of the RLS-protected ``cloud_account_assignments`` query run in the request's own transaction. The
constructor demands a private token that only this module holds, so a scope cannot be built by accident
from a request argument, a literal set or a cached value: ``AccountScope({...})`` raises ``TypeError``.

A holding says: the rows of ``account_id`` in the store of ``operator_id`` whose charge time lies in
``[valid_from, valid_to)`` (``None``: unbounded on that side). Account ids are unique per operator only, so
the operator is part of every holding and a read opens only that operator's store. Cost rows belong to
whoever held the account at the time: a scope lists the intervals of the tenants the caller may see, not
the accounts' current holder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn
from uuid import UUID

_TOKEN = object()
_KEYS = ("account_id", "sub_account_id", "cloud_account_id")

Interval = tuple[datetime | None, datetime | None]
ALWAYS: tuple[Interval, ...] = ((None, None),)


@dataclass(frozen=True)
class Holding:
    operator_id: UUID
    account_id: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class AccountScope:
    """An immutable set of holdings a principal may see; empty means nothing."""

    __slots__ = ("_intervals",)
    _intervals: dict[tuple[UUID, str], tuple[Interval, ...]]

    def __init__(self, holdings: Iterable[Holding], *, _token: object = None) -> None:
        if _token is not _TOKEN:
            raise TypeError("AccountScope comes only from cost.scope.scope_from_database_rows(rows)")
        grouped: dict[tuple[UUID, str], list[Interval]] = defaultdict(list)
        for h in holdings:
            grouped[(h.operator_id, h.account_id)].append((h.valid_from, h.valid_to))
        object.__setattr__(self, "_intervals", {key: _merged(spans) for key, spans in grouped.items()})

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("AccountScope is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("AccountScope cannot be pickled; ask the database again")

    @property
    def operators(self) -> frozenset[UUID]:
        return frozenset(operator for operator, _ in self._intervals)

    def accounts_of(self, operator_id: UUID) -> frozenset[str]:
        return frozenset(account for operator, account in self._intervals if operator == operator_id)

    def intervals(self, operator_id: UUID, account_id: str) -> tuple[Interval, ...]:
        """Merged, sorted ``[from, to)`` intervals of the account's rows in scope; ``()`` when none."""
        return self._intervals.get((operator_id, account_id), ())

    @property
    def accounts(self) -> frozenset[str]:
        """Account ids of every operator (ids of two operators may be equal: read per operator)."""
        return frozenset(account for _, account in self._intervals)

    def __contains__(self, account: object) -> bool:
        return account in self.accounts

    def __iter__(self) -> Iterator[tuple[UUID, str]]:
        return iter(sorted(self._intervals, key=lambda k: (str(k[0]), k[1])))

    def __len__(self) -> int:
        return len(self._intervals)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccountScope) and other._intervals == self._intervals

    def __hash__(self) -> int:
        return hash(frozenset(self._intervals.items()))

    def __repr__(self) -> str:
        return f"AccountScope({len(self._intervals)} accounts of {len(self.operators)} operators)"


def scope_from_database_rows(rows: Iterable[Any]) -> AccountScope:
    """Build the scope from RLS query rows (mappings, SQLAlchemy rows or objects) with ``operator_id``, an
    account id (``account_id``/``sub_account_id``/``cloud_account_id``) and optionally ``valid_from``,
    ``valid_to`` and ``is_first`` (the account's first assignment, which also covers the time before it)."""
    return AccountScope((_holding_of(row) for row in rows), _token=_TOKEN)


def _holding_of(row: Any) -> Holding:
    mapping = getattr(row, "_mapping", row)
    if not isinstance(mapping, Mapping):
        names = (*_KEYS, "operator_id", "valid_from", "valid_to", "is_first")
        mapping = {k: getattr(row, k) for k in names if hasattr(row, k)}
    key = next((k for k in _KEYS if k in mapping), None)
    if key is None:
        raise ValueError(f"row has none of the columns {', '.join(_KEYS)}")
    account = mapping[key]
    operator = mapping.get("operator_id")
    if not isinstance(operator, UUID):
        raise ValueError("row has no operator_id (a UUID): an account id alone names no store")
    start = mapping.get("valid_from")
    if mapping.get("is_first"):
        start = None
    end = mapping.get("valid_to")
    for bound in (start, end):
        if bound is not None and (not isinstance(bound, datetime) or bound.tzinfo is None):
            raise ValueError("assignment bounds are timezone-aware datetimes")
    return Holding(operator, _text(account), start, end)


def _merged(spans: list[Interval]) -> tuple[Interval, ...]:
    def start_key(span: Interval) -> tuple[bool, datetime | None]:
        return (span[0] is not None, span[0])

    out: list[Interval] = []
    for lo, hi in sorted(spans, key=start_key):
        if out and (out[-1][1] is None or lo is None or lo <= out[-1][1]):
            last_lo, last_hi = out[-1]
            out[-1] = (last_lo, None if last_hi is None or hi is None else max(last_hi, hi))
        elif lo is None or hi is None or lo < hi:
            out.append((lo, hi))
    return tuple(out)


def _text(value: object) -> str:
    if value is None or value == "":
        raise ValueError("account id is empty")
    return str(value)
