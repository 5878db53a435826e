"""`roundpool worker` that stalls halfway through a job, so the kill tests can SIGKILL it at a known point.

    python -m tests.resolvers.stalling_worker import|close MARKER

`import`: once a cost import has written its files to its own folder, before it publishes them, it writes
that folder's path to MARKER and sleeps. `close`: after the first invoice of a close-all run is committed, it
writes MARKER and sleeps before the second. The worker otherwise is the real one (same command, settings
and queue); this module lives under tests/ and nothing in the product imports it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

_STALL_S = 600


def _stall_imports(marker: Path) -> None:
    from cost import imports

    original = imports._write

    def write(reader: Any, filesystem: Any, base: str, *rest: Any) -> Any:
        written = original(reader, filesystem, base, *rest)  # the attempt's files, complete, not published
        if not marker.exists():
            marker.write_text(base)
            time.sleep(_STALL_S)  # on the import's thread: the worker keeps heartbeating
        return written

    imports._write = write  # type: ignore[assignment]


def _stall_closes(marker: Path) -> None:
    from resolvers.billing import closing

    original = closing.close_for
    calls = 0

    async def close_for(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # the first tenant's transaction has committed
            await asyncio.to_thread(marker.write_text, "closing the second invoice")
            await asyncio.sleep(_STALL_S)
        return await original(*args, **kwargs)

    closing.close_for = close_for  # type: ignore[assignment]


def main(kind: str, marker: str) -> None:
    {"import": _stall_imports, "close": _stall_closes}[kind](Path(marker))
    from cli.main import app

    app(["worker"], prog_name="roundpool")


if __name__ == "__main__":
    main(*sys.argv[1:3])
