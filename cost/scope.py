"""Which cloud accounts a cost read may touch.

Parquet has no row-level security, so every read API of :mod:`cost` takes an :class:`AccountScope`, and
the only way to obtain one is :func:`scope_from_database_rows`, called by the database layer with the rows
of the RLS-protected ``cloud_accounts`` query run in the request's own transaction. The constructor
demands a private token that only this module holds, so a scope cannot be built by accident from a
request argument, a literal set or a cached value: ``AccountScope({...})`` raises ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NoReturn

_TOKEN = object()
_KEYS = ("account_id", "sub_account_id", "cloud_account_id")


class AccountScope:
    """An immutable set of sub-account ids a principal may see; empty means nothing."""

    __slots__ = ("_accounts",)
    _accounts: frozenset[str]

    def __init__(self, accounts: Iterable[str], *, _token: object = None) -> None:
        if _token is not _TOKEN:
            raise TypeError("AccountScope comes only from cost.scope.scope_from_database_rows(rows)")
        object.__setattr__(self, "_accounts", frozenset(accounts))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("AccountScope is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("AccountScope cannot be pickled; ask the database again")

    @property
    def accounts(self) -> frozenset[str]:
        return self._accounts

    def __contains__(self, account: object) -> bool:
        return account in self._accounts

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._accounts))

    def __len__(self) -> int:
        return len(self._accounts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccountScope) and other._accounts == self._accounts

    def __hash__(self) -> int:
        return hash(self._accounts)

    def __repr__(self) -> str:
        return f"AccountScope({len(self._accounts)} accounts)"


def scope_from_database_rows(rows: Iterable[Any]) -> AccountScope:
    """Build the scope from RLS query rows: mappings (``account_id``/``sub_account_id``/``cloud_account_id``),
    SQLAlchemy rows (their ``_mapping``), objects with one of those attributes, or 1-tuples."""
    return AccountScope((_account_of(row) for row in rows), _token=_TOKEN)


def _account_of(row: Any) -> str:
    mapping = getattr(row, "_mapping", row)
    if isinstance(mapping, Mapping):
        for key in _KEYS:
            if key in mapping:
                return _text(mapping[key])
        raise ValueError(f"row has none of the columns {', '.join(_KEYS)}")
    for key in _KEYS:
        if hasattr(row, key):
            return _text(getattr(row, key))
    if isinstance(row, tuple) and len(row) == 1:
        return _text(row[0])
    raise ValueError(f"cannot read an account id from {type(row).__name__}")


def _text(value: object) -> str:
    if value is None or value == "":
        raise ValueError("account id is empty")
    return str(value)
