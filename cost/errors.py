"""Errors raised by the cost engine.

Before a file is recognised as a billing file (its header names a known format), no error quotes any of
its bytes; a :class:`SourceError` quotes nothing of the target at all (neither content nor a server's
answer), only the configured source it concerns.

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
    │   ├── DuplicateColumnError      a column the import reads appears twice in the header (row 0)
    │   └── MixedCurrencyError        more than one billing currency in one file
    ├── SourceError                   the location is not a readable file of a configured cost source
    │   ├── LocationRefused           outside every configured source (scheme, host, query, '..', symlink, path)
    │   ├── NotInSource               inside a source, but no regular file there
    │   └── SourceUnavailable         the source did not answer (details only in the server's log)
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


class DuplicateColumnError(InputError):
    pass


class MixedCurrencyError(InputError):
    pass


class SourceError(CostError):
    """An import location that is refused or cannot be read; ``reason`` quotes nothing of the target."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class LocationRefused(SourceError):
    pass


class NotInSource(SourceError):
    pass


class SourceUnavailable(SourceError):
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
