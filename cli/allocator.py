"""The memory allocator's configuration, which has to be in the environment before pyarrow's library loads.

Arrow's jemalloc reads ``JE_ARROW_MALLOC_CONF`` once, when ``libarrow`` is loaded (a library constructor), so
nothing that runs after ``import pyarrow`` can change it; ``pyarrow.jemalloc_set_decay_ms`` only sets both decays
of arenas made afterwards, and ``MemoryPool.release_unused`` is a no-op with jemalloc in pyarrow 26 (it passes
jemalloc the name ``arena.MALLCTL_ARENAS_ALL.purge``, the macro's name instead of its value). This module
imports nothing that loads pyarrow; :mod:`cli` applies it first, so every ``roundpool`` process has it.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

# Measured with the narrow CUR of bench/ingest.py, roundpool alone, peak RSS at 1.6 M / 6.4 M / 12.8 M rows (see
# BENCHMARKS.md, "Import memory flat in file size"):
# - 10 s for both decays (roundpool's setting until session 10): 714 / 803 / 845 MiB, rising while Arrow's live
#   bytes stopped growing at ~1.6 M rows: the difference was freed pages kept, each of jemalloc's arenas its own;
# - dirty_decay_ms 2000 and muzzy_decay_ms 0: 665 / 670 / 678 MiB, and no slower (23.1 s against 25.3 at
#   12.8 M rows). 5000: 682 / 705 / 728; 500 cost 5-10 % more wall time in page faults;
# - muzzy_decay_ms 0 unmaps purged pages at once: "muzzy" pages (MADV_FREE) stay in RSS until the kernel needs
#   the memory (98 MiB of a 710 MiB peak).
JEMALLOC_CONF = "dirty_decay_ms:2000,muzzy_decay_ms:0"
VARIABLE = "JE_ARROW_MALLOC_CONF"


def configure(environ: MutableMapping[str, str] = os.environ) -> None:
    """Put :data:`JEMALLOC_CONF` in ``environ`` unless it already names a configuration (the operator's wins)."""
    environ.setdefault(VARIABLE, JEMALLOC_CONF)
