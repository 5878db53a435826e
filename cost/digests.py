"""The BLAKE3 digest of a file as stored (its identity in the catalog), computed in line, on a thread beside an
import, or from the chunks the parse reads.

BLAKE3, not SHA-256: the identity only has to be collision-resistant, and SHA-256 was ≈ 11 % of a narrow CUR
import's CPU (1.1 GB/s with SHA-NI on the benchmark machine; BLAKE3 5.0 GB/s on one thread). Imports recorded
before the change are kept under the file's SHA-256 (the two never collide: both are 256-bit cryptographic
hashes), and an import recognises them too (:func:`file_sha256`, computed only when such a record has the
file's size), so a file imported before is still a duplicate and its late rows (published under a source
named by the digest) are not added twice.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import pyarrow.fs as pafs
from blake3 import blake3

from cost.chunks import Chunk
from cost.sources import Source

_CHUNK = 8 << 20


class _Stopped(Exception):
    pass


class _Hash(Protocol):
    def update(self, data: memoryview, /) -> object: ...
    def hexdigest(self) -> str: ...


def file_digest(
    location: str, filesystem: pafs.FileSystem | None = None, *, stop: threading.Event | None = None
) -> str:
    """The hex BLAKE3-256 digest of the file's bytes as stored."""
    return _file_hash(location, filesystem, blake3, stop)  # one thread: an import keeps the other cores busy


def file_sha256(location: str, filesystem: pafs.FileSystem | None = None) -> str:
    """The hex SHA-256 of the file's bytes as stored: the key of the catalog records written before BLAKE3."""
    return _file_hash(location, filesystem, hashlib.sha256, None)


def _file_hash(
    location: str, filesystem: pafs.FileSystem | None, new: Callable[[], _Hash], stop: threading.Event | None
) -> str:
    source = Source.open(location, filesystem)
    digest = new()
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
    """:func:`file_digest` on its own thread: the import parses while the file is hashed (both release the GIL,
    so the hash fills the core the parse leaves idle instead of running alone before it)."""

    def __init__(self, location: str, filesystem: pafs.FileSystem | None = None) -> None:
        self._stop = threading.Event()
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(location, filesystem), name="cost-digest", daemon=True)
        self._thread.start()

    def _run(self, location: str, filesystem: pafs.FileSystem | None) -> None:
        try:
            self._digest = file_digest(location, filesystem, stop=self._stop)
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


class ChunkDigest:
    """The digest of a plain CSV from the chunks its parse cuts (:mod:`cost.chunks`), so the file is read once.

    The header and then every chunk's rows are, in order, exactly the file's bytes; a chunk's rows are never
    written to after the cut, so they are hashed on a thread of their own (off the cutter's path) while the
    chunks are parsed. :meth:`hexdigest` is the file's digest only when the chunks reached the file's end."""

    def __init__(self) -> None:
        self._digest = blake3()
        self._parts: queue.Queue[memoryview | None] = queue.Queue(maxsize=8)  # bounds the bytes held
        self._complete = False
        self._thread = threading.Thread(target=self._run, name="cost-digest-chunks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (part := self._parts.get()) is not None:
            self._digest.update(part)  # releases the GIL

    def feed(self, header: bytes, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        """``chunks``, each hashed as it passes."""
        self._parts.put(memoryview(header))
        for chunk in chunks:
            self._parts.put(chunk.data)
            yield chunk
        self._complete = True

    def close(self) -> None:
        """Stop the hashing thread (call once the chunks are no longer fed)."""
        if self._thread.is_alive():
            self._parts.put(None)
            self._thread.join()

    def hexdigest(self) -> str | None:
        self.close()
        return self._digest.hexdigest() if self._complete else None
