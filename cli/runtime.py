"""What every command needs before it acts: settings (read once), a JWT secret, a migrated database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from pydantic import ValidationError

from cost.migration import StoreMigration, migrate_store
from cost.store import CostStore
from db.connect_errors import CONNECT_ERRORS, cannot_connect, invalid_dsn
from db.cost_store_owners import import_owners
from db.location import DatabaseLocation, IncompleteLocation, locate_database
from db.migrate import upgrade
from db.migration_role import NotTheOwner
from db.role_check import UnsafeAppRole, check_app_role
from schema.settings import Settings


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    location: DatabaseLocation


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as error:
        raise CliError(_one_line(error)) from None
    if settings.jwt_secret or settings.jwt_public_key_file or settings.jwt_jwks_file:
        return settings
    if not settings.development:
        raise CliError(
            "production needs ROUNDPOOL_JWT_PUBLIC_KEY_FILE, ROUNDPOOL_JWT_JWKS_FILE or ROUNDPOOL_JWT_SECRET"
        )
    return settings.model_copy(update={"jwt_secret": _development_secret(settings)})


def _one_line(error: ValidationError) -> str:
    """Each problem with the variable it came from; never the input, which holds secrets and passwords."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        field = item["loc"][0] if item["loc"] else None
        if not isinstance(field, str):
            problems.append(message)
            continue
        variable = field if field.isupper() else f"ROUNDPOOL_{field.upper()}"  # an alias is the variable itself
        problems.append(f"{variable}: {message}")
    return "invalid settings: " + "; ".join(problems)


def _development_secret(settings: Settings) -> str:
    """A random HS256 secret kept in the data folder, so tokens from `roundpool token` work with `serve`."""
    path = settings.home / "jwt-secret"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def prepare(
    settings: Settings, *, migrate: bool = True, keep_running: bool = False, check_role: bool = True
) -> Runtime:
    """Locate (or, in development, start) the database and, when we hold the owner's DSN, apply migrations;
    refuse an app role that row-level security would not bind (every command that acts as the app role).

    Settings that do not add up, a server that cannot be reached or refuses the login, and a migration DSN
    that is not the owner's each stop the command with one line naming the variable."""
    for variable, url in (
        ("DATABASE_URL", settings.database_url),
        ("MIGRATION_DATABASE_URL", settings.migration_database_url),
    ):
        problem = url and invalid_dsn(variable, url)
        if problem:
            raise CliError(problem)
    try:
        location = locate_database(
            settings.database_url,
            settings.migration_database_url,
            settings.home,
            keep_running=keep_running,
            embedded_allowed=settings.development,
        )
    except IncompleteLocation as error:
        raise CliError(str(error)) from None
    if migrate and (location.embedded or settings.migration_database_url):
        migrate_database(settings, location)
    if check_role:
        with connecting("DATABASE_URL", location.app_url):
            check_app_role(location.app_url)
    return Runtime(settings=settings, location=location)


def migration_url(settings: Settings, location: DatabaseLocation) -> str:
    """The owner's DSN: the embedded server's, or MIGRATION_DATABASE_URL (never the app role's DATABASE_URL)."""
    if location.embedded:
        return location.owner_url
    if not settings.migration_database_url:
        raise CliError(
            "migrations need MIGRATION_DATABASE_URL, the owner role's DSN (DATABASE_URL is the app role's, which"
            " cannot create or alter tables)"
        )
    return settings.migration_database_url


def migrate_database(settings: Settings, location: DatabaseLocation) -> None:
    owner_url = migration_url(settings, location)
    with connecting("MIGRATION_DATABASE_URL", owner_url):
        upgrade(owner_url)
        split_legacy_store(settings, owner_url)


@contextmanager
def connecting(variable: str, url: str) -> Iterator[None]:
    """Turn a refused or failed connection through `url` (the value of `variable`) into one line."""
    try:
        yield
    except (UnsafeAppRole, NotTheOwner) as error:
        raise CliError(str(error)) from None
    except CONNECT_ERRORS as error:
        raise CliError(cannot_connect(variable, url, error)) from None


def user_id_by_email(location: DatabaseLocation, email: str) -> str:
    """Identify a user for the CLI (token minting, `graphql --user`): an owner look-up, nothing else."""
    with connecting("MIGRATION_DATABASE_URL", location.owner_url), psycopg.connect(location.owner_url) as conn:
        owner = conn.execute("select rolbypassrls from pg_roles where rolname = current_user").fetchone()
        if not (owner and owner[0]):  # the app role sees no user by e-mail: say why instead of "no user"
            raise CliError("finding a user by e-mail needs MIGRATION_DATABASE_URL (the owner role's DSN)")
        row = conn.execute("select id from users where email = %s", (email.strip().lower(),)).fetchone()
    if row is None:
        raise CliError(f"no user with e-mail {email!r}")
    return str(row[0])


def dev_subject_by_email(location: DatabaseLocation, email: str) -> str:
    """The `sub` a development token carries for a user (an owner look-up): their subject, for users that
    sign in without an issuer (seed data, demo users, development tokens)."""
    with psycopg.connect(location.owner_url) as conn:
        row = conn.execute("select subject, issuer from users where email = %s", (email.strip().lower(),)).fetchone()
    if row is None:
        raise CliError(f"no user with e-mail {email!r}")
    if row[1]:
        raise CliError(f"{email} signs in through {row[1]}; development tokens cannot stand in for it")
    return str(row[0])


def split_legacy_store(settings: Settings, owner_url: str) -> StoreMigration:
    """Move a cost store of the pre-0008 single-catalog layout into one store per operator (a no-op when
    there is none), attributing imports from the manifests: part of migrating, so an upgraded server never
    starts with costs it cannot read."""
    store = CostStore(settings.cost_store_root)
    if not store.has_legacy_catalog():
        return StoreMigration({}, ())
    with psycopg.connect(owner_url) as conn:
        owners = import_owners(conn)
    return migrate_store(store, owners)
