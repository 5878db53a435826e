"""`roundpool ocf import|export`: the resolvers of `importOcfPackage` / `exportOcfPackage`, run for a principal
resolved like `roundpool graphql` does, in one transaction under that principal's context and the policies."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import typer
from rich.console import Console

from cli.runtime import CliError, load_settings, prepare, user_id_by_email
from db.session import Database
from resolvers.captable import ocf
from resolvers.captable.captable import LedgerProblems
from resolvers.common.context import RequestContext
from resolvers.common.errors import ApiError
from resolvers.common.principals import AuthenticationFailed, Member, TenantNotAllowed
from resolvers.common.request import open_request
from schema.execution_options import request_runtime

T = TypeVar("T")
err = Console(stderr=True)


def _run(user: str, tenant: str, work: Callable[[RequestContext], Awaitable[T]]) -> T:
    settings = load_settings()
    runtime = prepare(settings)
    user_id = UUID(user_id_by_email(runtime.location, user))

    async def run() -> T:
        database = Database(runtime.location.app_url, pool_size=1, statement_timeout_ms=settings.statement_timeout_ms)
        try:
            requests = request_runtime(settings, database, None)
            async with open_request(requests, Member(user_id, tenant), request_id=uuid.uuid4().hex) as context:
                return await work(context)
        finally:
            await database.dispose()

    return asyncio.run(run())


def run_import(path: Path, user: str, tenant: str) -> int:
    try:
        imported = _run(user, tenant, lambda ctx: ocf.import_package(ctx, ocf.read_path(path, ctx.limits.package)))
    except LedgerProblems as rejected:
        err.print(f"[red]rejected:[/red] {len(rejected.problems)} problem(s); nothing was written")
        for problem in rejected.problems:
            err.print(f"  {problem.message()}")
        return 1
    except (ApiError, CliError, AuthenticationFailed, TenantNotAllowed) as error:
        err.print(f"[red]error:[/red] {getattr(error, 'message', error)}")
        return 1
    for warning in imported.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning.message()}")
    typer.echo(f"imported {imported.object_count} objects into {tenant}")
    return 0


def run_export(out: Path, user: str, tenant: str) -> int:
    try:
        data = _run(user, tenant, ocf.export_package)
    except (ApiError, CliError, AuthenticationFailed, TenantNotAllowed) as error:
        err.print(f"[red]error:[/red] {getattr(error, 'message', error)}")
        return 1
    if out.suffix == ".zip":
        out.write_bytes(data)
    else:
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(out)
    typer.echo(f"wrote {out}")
    return 0
