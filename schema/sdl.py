"""The SDL snapshot `schema/schema.graphql`: every API change shows up in review as a diff of this file."""

from __future__ import annotations

from pathlib import Path

from schema.build import build_schema

SNAPSHOT = Path(__file__).resolve().parent / "schema.graphql"


def current_sdl() -> str:
    return build_schema().as_str() + "\n"


def write_snapshot() -> Path:
    SNAPSHOT.write_text(current_sdl())
    return SNAPSHOT
