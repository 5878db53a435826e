"""SQL that other projects ship, frozen at the version a migration applied; kept apart from our policies."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent


def third_party_sql(name: str) -> str:
    return (SQL_DIR / name).read_text()
