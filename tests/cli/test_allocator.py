"""Every roundpool process configures jemalloc before pyarrow loads, and an operator's own configuration wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from cli import allocator

ROOT = Path(__file__).resolve().parents[2]
# Import the entry point first, as the roundpool command does, then ask jemalloc for its options.
PROBE = "import cli.main, pyarrow as pa; pa.jemalloc_memory_pool().print_stats()"

pytestmark = pytest.mark.skipif(
    "jemalloc" not in pa.supported_memory_backends(), reason="this pyarrow build has no jemalloc"
)


def _options(environ: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environ, capture_output=True, text=True, check=True, timeout=120
    )
    options = {}
    for line in done.stderr.splitlines():
        name, _, value = line.strip().partition(": ")
        if name.startswith("opt."):
            options[name] = value.split(" ")[0]
    return options


def _environment(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in {allocator.VARIABLE, "ARROW_DEFAULT_MEMORY_POOL"}}
    return {**environ, **extra}


def test_the_entry_point_sets_the_decays_before_pyarrow_loads() -> None:
    options = _options(_environment())
    expected = dict(item.split(":") for item in allocator.JEMALLOC_CONF.split(","))
    assert {name: options[f"opt.{name}"] for name in expected} == expected
    assert expected["muzzy_decay_ms"] == "0"


def test_an_operators_configuration_wins() -> None:
    options = _options(_environment(**{allocator.VARIABLE: "dirty_decay_ms:700"}))
    assert options["opt.dirty_decay_ms"] == "700"
    assert options["opt.muzzy_decay_ms"] != "0"  # jemalloc's own default, not ours


def test_configure_fills_only_an_empty_variable() -> None:
    environ: dict[str, str] = {}
    allocator.configure(environ)
    assert environ == {allocator.VARIABLE: allocator.JEMALLOC_CONF}
    own = {allocator.VARIABLE: "narenas:2"}
    allocator.configure(own)
    assert own == {allocator.VARIABLE: "narenas:2"}
