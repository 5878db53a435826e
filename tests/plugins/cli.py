"""The CLI pointed at the test database (the app role for requests, the owner for migrations), and with a cost
store of the test's own for the cost commands."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.plugins.database import TestDatabase
from tests.plugins.graphql import JWT_SECRET


@pytest.fixture
def cli(test_database: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", test_database.app_url)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", test_database.owner_url)
    monkeypatch.setenv("ROUNDPOOL_JWT_SECRET", JWT_SECRET)
    return CliRunner()


@pytest.fixture
def cost_cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("ROUNDPOOL_COST_STORE", str(tmp_path / "store"))
    return cli


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`serve` (and each of its workers) points the root logger at its stderr, which a test runner closes after
    the command: the root logger as it was, afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
