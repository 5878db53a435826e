"""Page arguments of Relay connections: `first`/`after` or `last`/`before`, sizes within the limit, cursors
opaque keyset keys.

Every connection has one :class:`Cursor` codec (see `resolvers.common.cursors`): the cursor names its connection
and carries its key in the key's own types. A cursor that is not base64 of that exact shape — garbage,
tampered, of another connection, or oversized — is refused as BAD_USER_INPUT before any SQL sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from db.pagination import Window
from resolvers.common.errors import InvalidInput

DEFAULT_PAGE_SIZE = 20
MAX_CURSOR_LENGTH = 512
_BIGINT = 2**63 - 1
_MAX_TEXT = 300
# json.dumps with separators builds a new encoder per call (half the time of an encode): one, built once.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True)
class KeyPart:
    """One column of a keyset key: how it is written into a cursor and read back (None = not this type)."""

    name: str
    dump: Callable[[Any], Any]
    load: Callable[[Any], Any | None]


def _load_int(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and -_BIGINT <= value <= _BIGINT
    return value if ok else None


def _load_text(value: Any) -> str | None:
    # PostgreSQL text cannot hold NUL; a cursor carrying one would fail inside the driver.
    return value if isinstance(value, str) and len(value) <= _MAX_TEXT and "\x00" not in value else None


def _load_uuid(value: Any) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) and len(value) == 36 else None
    except ValueError:
        return None


def _load_datetime(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _load_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


INT = KeyPart("int", int, _load_int)
TEXT = KeyPart("text", str, _load_text)
UUID_KEY = KeyPart("uuid", str, _load_uuid)
DATETIME = KeyPart("datetime", lambda v: v.isoformat(), _load_datetime)
DATE = KeyPart("date", lambda v: v.isoformat(), _load_date)


class _Malformed(Exception):
    pass


@dataclass(frozen=True)
class Cursor:
    """The cursor codec of one connection: its name and the types of its key, in order."""

    connection: str
    key: tuple[KeyPart, ...]

    def encode(self, values: Sequence[Any]) -> str:
        if len(values) != len(self.key):
            raise ValueError(f"{self.connection} cursors have {len(self.key)} key parts, got {len(values)}")
        payload = [self.connection, *(part.dump(v) for part, v in zip(self.key, values, strict=True))]
        return base64.urlsafe_b64encode(_COMPACT_JSON.encode(payload).encode()).decode()

    def decode(self, cursor: str, field: str = "after") -> tuple[Any, ...]:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidInput(f"the cursor is longer than {MAX_CURSOR_LENGTH} characters", field=field)
        try:
            return self._decode(cursor)
        except _Malformed as error:
            raise InvalidInput(
                f"not a cursor of {self.connection}: pass a cursor this connection returned ({error})",
                field=field,
            ) from None

    def _decode(self, cursor: str) -> tuple[Any, ...]:
        try:
            raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeError, binascii.Error, ValueError, RecursionError):
            raise _Malformed("not base64 of JSON") from None
        if not isinstance(payload, list) or not payload or payload[0] != self.connection:
            raise _Malformed("it belongs to another connection or is not one")
        values = payload[1:]
        if len(values) != len(self.key):
            raise _Malformed("wrong number of key parts")
        decoded = []
        for part, value in zip(self.key, values, strict=True):
            loaded = part.load(value)
            if loaded is None:
                raise _Malformed(f"a key part is not a {part.name}")
            decoded.append(loaded)
        return tuple(decoded)


PageRequest = Window


def page_request(
    first: int | None,
    after: str | None,
    max_page_size: int,
    cursor: Cursor,
    *,
    last: int | None = None,
    before: str | None = None,
) -> Window:
    """The window `first`/`after` (forwards, the default) or `last`/`before` (backwards) asks for."""
    if first is not None and last is not None:
        raise InvalidInput("give first or last, not both", field="last")
    backwards = last is not None
    size = last if backwards else first
    size = DEFAULT_PAGE_SIZE if size is None else size
    if size < 1 or size > max_page_size:
        name = "last" if backwards else "first"
        raise InvalidInput(f"{name} must be between 1 and {max_page_size}", field=name)
    return Window(
        size=size,
        after=None if after is None else cursor.decode(after, field="after"),
        before=None if before is None else cursor.decode(before, field="before"),
        backwards=backwards,
    )
