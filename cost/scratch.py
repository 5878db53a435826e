"""Local scratch directories of an import (its spills, an object store's spool) that a process killed in the
middle of one cannot leave behind for ever.

A directory holds a ``.lock`` file that the process which made it keeps locked (``flock``) until it removes the
directory; the lock goes with the process, however it ends. :func:`remove_abandoned` deletes the directories
whose lock it can take: their owner is gone. ``roundpool worker`` calls it at start. The lock is taken under a
temporary name and renamed into place, so there is no moment at which ``.lock`` exists unlocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from types import TracebackType

PREFIX = "roundpool-"
LOCK = ".lock"


class ScratchDirectory:
    """A new directory ``<parent>/roundpool-<kind>-XXXX`` (``parent``: the system's temporary directory, i.e.
    ``TMPDIR``), locked by this process until :meth:`remove`."""

    def __init__(self, kind: str, parent: str | None = None) -> None:
        self.path = tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=parent)
        pending = os.path.join(self.path, f"{LOCK}.pending")
        self._lock: int | None = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        os.rename(pending, os.path.join(self.path, LOCK))

    def remove(self) -> None:
        """Delete the directory and everything in it, then let go of the lock (idempotent)."""
        if self._lock is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)
        self._lock = None

    def __enter__(self) -> ScratchDirectory:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.remove()


def remove_abandoned(parent: str | None = None) -> list[str]:
    """Delete the scratch directories under ``parent`` (default: the system's temporary directory) whose owner
    has stopped; return their paths. Directories without a lock (another program's, or one being made), links,
    and those another user owns are left alone."""
    parent = tempfile.gettempdir() if parent is None else parent
    removed = []
    with os.scandir(parent) as entries:
        candidates = [e.path for e in entries if e.name.startswith(PREFIX) and e.is_dir(follow_symlinks=False)]
    for path in candidates:
        try:
            lock = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_NOFOLLOW)
        except OSError:  # no lock (yet), a link, or not ours to open
            continue
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(path)
            removed.append(path)
        finally:
            os.close(lock)
    return removed
