"""The policy SQL applied by migrations; one frozen file per revision that changes policies."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"


def policy_sql(name: str) -> str:
    return (SQL_DIR / name).read_text()
