"""Page arguments of Relay connections: `first` within the limit, `after` an opaque keyset cursor."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from resolvers.errors import InvalidInput

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: list[Any] | None


def encode_cursor(key: tuple[Any, ...]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, UUID) else v for v in key]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput("malformed cursor", field="after") from error
    if not isinstance(values, list):
        raise InvalidInput("malformed cursor", field="after")
    return values


def page_request(first: int | None, after: str | None, max_page_size: int) -> PageRequest:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 1 or size > max_page_size:
        raise InvalidInput(f"first must be between 1 and {max_page_size}", field="first")
    return PageRequest(first=min(size, max_page_size), after=decode_cursor(after) if after else None)


def datetime_key(values: list[Any], *, index: int = 0) -> list[Any]:
    """Cursors carry timestamps as ISO text; restore them for comparison."""
    restored = list(values)
    try:
        restored[index] = datetime.fromisoformat(restored[index])
    except (TypeError, ValueError, IndexError) as error:
        raise InvalidInput("malformed cursor", field="after") from error
    return restored
