"""Verified tokens, remembered until they would stop verifying: a repeated bearer token skips the signature check.

Only successful verifications are kept. An entry lasts until the token's `exp` plus the leeway verification
allows (so the cache accepts exactly what verification would) and never longer than `max_ttl`; the verifier
clears the cache when its keys change, so a key taken out of the JWKS stops its tokens at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class TokenCache(Generic[T]):
    def __init__(self, maxsize: int = 4096, max_ttl: float = 300.0) -> None:
        self.maxsize = maxsize
        self.max_ttl = max_ttl
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, now: float) -> T | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            until, value = entry
            if now >= until:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return value

    def put(self, token: str, value: T, *, valid_until: float, now: float) -> None:
        until = min(valid_until, now + self.max_ttl)
        if until <= now or self.maxsize <= 0:
            return
        with self._lock:
            self._entries[token] = (until, value)
            self._entries.move_to_end(token)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
