"""Alembic, driven programmatically: the owner role applies `db/migrations`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from db.location import sqlalchemy_url
from db.migration_role import check_migration_role

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = sqlalchemy_url(owner_url)
    return config


def upgrade(owner_url: str, revision: str = "head") -> None:
    """Apply migrations; :class:`db.migration_role.NotTheOwner` before anything when `owner_url` is not the owner's."""
    check_migration_role(owner_url)
    command.upgrade(alembic_config(owner_url), revision)


def current_revision(owner_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sqlalchemy_url(owner_url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
