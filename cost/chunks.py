"""Cut a CSV byte stream into chunks of whole rows, so that chunks parse independently on threads.

A chunk ends at the last newline of a block of the stream. That newline may lie inside a quoted value (CUR
fields may hold quoted newlines), so whether a chunk ends on a row boundary is not assumed: it is proved by
the parser. Every chunk is parsed with a *sentinel row* appended (:func:`sentinel`)::

    "<newline>","~","~",…,"~"<newline>          (one field per header column)

Parsed from the start of a row (the chunk ended on a row boundary) it is one row of the right width, which
is dropped. Parsed inside a quoted value, its first quote closes that value and the newline after it ends
the row early, or — when the open value was in the last column — the rest of the sentinel is a row one
field short: either way the parser refuses the chunk. A refused chunk is never used: the reader merges it
with the next one, and if that fails too, parses the rest of the file serially from the chunk's first byte
(which is a row boundary, since every earlier chunk was proved to end on one). So the rows, their order and
every error are exactly those of a serial parse. A stream without a newline in several blocks (lines ended
by a lone CR, or one enormous row) is handed to the serial parse as it is.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Small chunks measured fastest with flattest memory (Arrow reuses the allocations): 1 MiB ≈ 800 CUR rows.
CHUNK_BYTES = 1 << 20
SENTINEL_VALUE = "~"
# Chunk buffers kept for reuse per file: the chunks in flight (parse window, hashing queue, prefetch) fit in it.
POOLED_BUFFERS = 20
_CARRY_ROOM = 64 << 10  # room for the partial row carried over from the previous chunk


@dataclass(frozen=True)
class Chunk:
    buffer: bytearray  # the chunk's bytes at its start, spare room after them
    size: int
    consumed: int  # bytes of the underlying file read when the chunk was cut
    whole: bool = True  # False: no newline in several blocks; only a serial parse can read on from here

    @property
    def data(self) -> memoryview:
        """Whole rows, or the file's end (whose last row may lack its newline)."""
        return memoryview(self.buffer)[: self.size]

    def followed_by(self, tail: bytes) -> memoryview:
        """The chunk's rows, then ``tail`` (written into the spare room when it fits, else copied)."""
        extra = (b"" if self.buffer[self.size - 1 : self.size] == b"\n" else b"\n") + tail
        if self.size + len(extra) > len(self.buffer):
            return memoryview(bytes(self.data) + extra)
        self.buffer[self.size : self.size + len(extra)] = extra
        return memoryview(self.buffer)[: self.size + len(extra)]


def sentinel(columns: int) -> bytes:
    return b'"\n"' + f',"{SENTINEL_VALUE}"'.encode() * (columns - 1) + b"\n"


def split(stream: Any, raw: Any, *, size: int = CHUNK_BYTES, reserve: int = 0) -> tuple[bytes, Iterator[Chunk]]:
    """``(header line, chunks of the rows after it)``; each chunk has ``reserve`` spare bytes for a tail."""
    first = _read(stream, size)
    end = first.find(b"\n")
    while end < 0 and len(first) < max(4 * size, 1 << 20):  # a header longer than a block
        more = _read(stream, size)
        if not more:
            break
        first += more
        end = first.find(b"\n")
    end = len(first) if end < 0 else end + 1
    return bytes(first[:end]), _chunks(stream, raw, bytes(first[end:]), size, reserve)


class _Buffers:
    """Chunk buffers recycled once nothing holds them any more: a fresh 4 MiB buffer per chunk is zeroed and
    page-faulted in by the kernel, and malloc hands such blocks back to it when they are freed."""

    def __init__(self, capacity: int, limit: int) -> None:
        self.capacity = capacity
        self._limit = limit
        self._kept: list[bytearray] = []

    def take(self, need: int) -> bytearray:
        """A buffer of at least ``need`` bytes; a recycled one holds the bytes of an earlier chunk."""
        if need > self.capacity:
            return bytearray(need)
        for index in range(len(self._kept)):
            # Only this list refers to it (getrefcount's own argument is the second reference): no chunk,
            # view or Arrow buffer of it is left, and no other thread can obtain one.
            if sys.getrefcount(self._kept[index]) == 2:
                return self._kept[index]
        buffer = bytearray(self.capacity)
        if len(self._kept) < self._limit:
            self._kept.append(buffer)
        return buffer


def _chunks(stream: Any, raw: Any, carry: bytes, size: int, reserve: int) -> Iterator[Chunk]:
    buffers = _Buffers(size + reserve + 1 + _CARRY_ROOM, POOLED_BUFFERS)
    while True:
        buffer = buffers.take(len(carry) + size + reserve + 1)
        buffer[: len(carry)] = carry
        filled = len(carry) + _fill(stream, memoryview(buffer)[len(carry) : len(carry) + size])
        if filled < len(carry) + size:  # the stream's end
            if filled:
                yield Chunk(buffer, filled, _tell(raw))
            return
        cut = buffer.rfind(b"\n", 0, filled) + 1
        if not cut:  # a row longer than a block (or no newlines at all): read on, up to a bound
            if filled > 4 * size:
                yield Chunk(buffer, filled, _tell(raw), whole=False)
                yield from _rest(stream, raw, size)
                return
            carry = bytes(buffer[:filled])
            continue
        carry = bytes(buffer[cut:filled])
        yield Chunk(buffer, cut, _tell(raw))


class Joined(io.RawIOBase):
    """A read-only stream of byte views, one after the other (the serial fallback's input)."""

    def __init__(self, parts: Iterable[memoryview], lock: threading.Lock | None = None) -> None:
        self._parts = iter(parts)
        self._current = memoryview(b"")
        self._lock = lock or threading.Lock()  # Arrow may read from its own threads

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        """Fill ``target`` across parts: Arrow takes a short read for a block, and a row longer than two
        consecutive blocks is refused ("straddles two block boundaries"), so a part's last bytes must not
        arrive alone."""
        view = memoryview(target).cast("B")
        filled = 0
        with self._lock:
            while filled < len(view):
                if not len(self._current):
                    part = next(self._parts, None)
                    if part is None:
                        break
                    self._current = part.cast("B")
                    continue
                n = min(len(view) - filled, len(self._current))
                view[filled : filled + n] = self._current[:n]
                self._current = self._current[n:]
                filled += n
        return filled


def _rest(stream: Any, raw: Any, size: int) -> Iterator[Chunk]:
    while block := _read(stream, size):
        yield Chunk(block, len(block), _tell(raw), whole=False)


def _read(stream: Any, size: int) -> bytearray:
    buffer = bytearray(size)
    return buffer[: _fill(stream, memoryview(buffer))]


def _fill(stream: Any, target: memoryview) -> int:
    """Read until ``target`` is full or the stream ends (a compressed stream may return short reads)."""
    filled = 0
    while filled < len(target):
        n = stream.readinto(target[filled:])
        if not n:
            break
        filled += n
    return filled


def _tell(raw: Any) -> int:
    return 0 if raw.closed else int(raw.tell())
