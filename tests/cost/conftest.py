from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from cost.store import CostStore
from tests.plugins.cost_files import OPERATOR, WriteLegacy, write_legacy_csv


@pytest.fixture
def legacy_csv(tmp_path: Path) -> WriteLegacy:
    counter = iter(range(1_000_000))

    def write(rows: Iterable[Mapping[str, str]], *, name: str | None = None, header: list[str] | None = None) -> Path:
        return write_legacy_csv(tmp_path / (name or f"cur-{next(counter)}.csv"), rows, header)

    return write


@pytest.fixture
def store(tmp_path: Path) -> CostStore:
    """One operator's store under the root ``tmp_path/store``."""
    return CostStore(str(tmp_path / "store")).for_operator(OPERATOR)
