"""`roundpool db bootstrap`: roles and database on a server you administer, never a login role without a
password. Each secret comes from a file (Docker secrets) or from the environment, not both."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cli.runtime import CliError, connecting
from db.bootstrap import APP_ROLE, OWNER_ROLE, bootstrap
from db.connect_errors import invalid_dsn


def secret(variable: str, file: Path | None, environ: Mapping[str, str]) -> str | None:
    """The value of `variable`, or of the file named by `file` / `{variable}_FILE` (one trailing newline
    dropped, as `echo` and editors leave it)."""
    file = file or (Path(environ[f"{variable}_FILE"]) if environ.get(f"{variable}_FILE") else None)
    if file is not None and environ.get(variable):
        raise CliError(f"set {variable} or its file ({variable}_FILE / the option), not both")
    if file is None:
        return environ.get(variable) or None
    try:
        value = file.read_text().removesuffix("\n").removesuffix("\r")
    except OSError as error:
        raise CliError(f"{variable}_FILE: cannot read {file}: {error.strerror}") from None
    return value


def role_password(variable: str, role: str, file: Path | None, environ: Mapping[str, str]) -> str:
    password = secret(variable, file, environ)
    if password is None:
        raise CliError(f"{role} needs a password: set {variable} or {variable}_FILE (or the option)")
    if not password.strip():
        raise CliError(f"{variable}: the password of {role} is empty")
    return password


def run_bootstrap(
    owner_password_file: Path | None, app_password_file: Path | None, environ: Mapping[str, str] | None = None
) -> None:
    environ = os.environ if environ is None else environ
    superuser_url = secret("BOOTSTRAP_DATABASE_URL", None, environ)
    if not superuser_url:
        raise CliError("set BOOTSTRAP_DATABASE_URL (or BOOTSTRAP_DATABASE_URL_FILE) to a superuser DSN")
    problem = invalid_dsn("BOOTSTRAP_DATABASE_URL", superuser_url)
    if problem:
        raise CliError(problem)
    owner_password = role_password("ROUNDPOOL_OWNER_PASSWORD", OWNER_ROLE, owner_password_file, environ)
    app_password = role_password("ROUNDPOOL_APP_PASSWORD", APP_ROLE, app_password_file, environ)
    if owner_password == app_password:
        raise CliError(
            "ROUNDPOOL_OWNER_PASSWORD and ROUNDPOOL_APP_PASSWORD are the same: the app role would hold"
            " the owner's password"
        )
    with connecting("BOOTSTRAP_DATABASE_URL", superuser_url):
        bootstrap(superuser_url, owner_password=owner_password, app_password=app_password)
