"""The sha256 of a file as stored (its identity in the catalog), computed in line or on a thread beside an import."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pyarrow.fs as pafs

from cost.sources import Source

_CHUNK = 8 << 20


class _Stopped(Exception):
    pass


def file_sha256(
    location: str, filesystem: pafs.FileSystem | None = None, *, stop: threading.Event | None = None
) -> str:
    source = Source.open(location, filesystem)
    digest = hashlib.sha256()
    # One buffer for the whole file: a fresh one per read measured twice the system time (page faults).
    buffer = memoryview(bytearray(_CHUNK))
    # compression=None: hash the bytes as stored (pyarrow would otherwise decompress .gz by its extension).
    with source.filesystem.open_input_stream(source.path, compression=None) as handle:
        while n := handle.readinto(buffer):
            if stop is not None and stop.is_set():
                raise _Stopped
            digest.update(buffer[:n])  # releases the GIL
    return digest.hexdigest()


class BackgroundDigest:
    """:func:`file_sha256` on its own thread: the import parses while the file is hashed (both release the GIL,
    so the hash fills the core the parse leaves idle instead of running alone before it)."""

    def __init__(self, location: str, filesystem: pafs.FileSystem | None = None) -> None:
        self._stop = threading.Event()
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(location, filesystem), name="cost-sha256", daemon=True)
        self._thread.start()

    def _run(self, location: str, filesystem: pafs.FileSystem | None) -> None:
        try:
            self._digest = file_sha256(location, filesystem, stop=self._stop)
        except _Stopped:
            pass
        except BaseException as exc:  # re-raised by result(), on the importing thread
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()


class HashingStream:
    """The bytes a parse pulls from a raw file, hashed as they pass: a plain CSV is read once, not twice.

    :meth:`hexdigest` is the file's sha256 only once a read returned nothing (its end); before that, None."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._digest = hashlib.sha256()
        self._at_end = False

    def readinto(self, target: Any) -> int:
        n = int(self._raw.readinto(target))
        if n:
            self._digest.update(memoryview(target)[:n])  # releases the GIL
        else:
            self._at_end = True
        return n

    def hexdigest(self) -> str | None:
        return self._digest.hexdigest() if self._at_end else None
