"""Errors raised by the cost engine.

Every error about an input file carries where it happened: ``file`` (the path or URI as given),
``row`` (the 1-based *data row*, i.e. the header is not counted and a quoted value spanning lines still
counts as one row; ``None`` when the problem is not about one row), ``column`` (the column name as it
appears in the file, or ``None``) and ``reason`` (a short human sentence).

::

    CostError
    ├── InputError                    a file that cannot be imported as it is
    │   ├── EmptyFileError            no bytes, or a header and no data rows
    │   ├── CorruptFileError          truncated or invalid gzip/zip/Parquet, malformed CSV
    │   ├── UnknownFormatError        the header matches none of legacy CUR, CUR 2.0, FOCUS 1.x
    │   ├── InvalidValueError         a value that does not parse (timestamp, JSON tags)
    │   │   └── InvalidNumberError    non-numeric, too many fractional digits, out of range
    │   └── MixedCurrencyError        more than one billing currency in one file
    └── StoreError                    the store refuses or fails an operation
        ├── LockedPeriodError         the file carries data for a closed (locked) billing period
        └── CatalogError              the store's catalog is missing or unreadable
"""

from __future__ import annotations


class CostError(Exception):
    """Base class of every error raised by ``cost``."""


class InputError(CostError):
    """A file that cannot be imported; says where and why."""

    def __init__(self, file: str, reason: str, *, row: int | None = None, column: str | None = None) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = reason
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")


class EmptyFileError(InputError):
    pass


class CorruptFileError(InputError):
    pass


class UnknownFormatError(InputError):
    pass


class InvalidValueError(InputError):
    pass


class InvalidNumberError(InvalidValueError):
    pass


class MixedCurrencyError(InputError):
    pass


class StoreError(CostError):
    pass


class LockedPeriodError(StoreError):
    """An import touches a billing period that is closed; nothing was published."""

    def __init__(self, file: str, period: str) -> None:
        self.file = file
        self.period = period
        super().__init__(f"{file}: billing period {period} is locked; nothing was published")


class CatalogError(StoreError):
    pass
