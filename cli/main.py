"""`roundpool`: serve, manage the database, mint development tokens, run GraphQL documents.

Every command calls the same functions the server does; none bypasses authentication or the policies.
"""

from __future__ import annotations

import asyncio
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from cli.demo import seed_kitsune_captable
from cli.demo_billing import load_demo_billing
from cli.demo_onboarding import create_demo_tenants, demo_missing
from cli.runtime import (
    CliError,
    Runtime,
    dev_subject_by_email,
    load_settings,
    migrate_database,
    prepare,
    user_id_by_email,
)
from cli.tenants import tenants_app
from db.demo import load_demo
from policies.tokens import mint_token
from schema.logs import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="The database: migrations, bootstrap, connection strings.")
app.add_typer(db_app, name="db")
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the terminal width


class DbRole(StrEnum):
    APP = "app"
    OWNER = "owner"


class LateDataOption(StrEnum):  # mirrors cost.LateData (cost is imported lazily, by the command)
    REJECT = "reject"
    CORRECTIONS = "corrections"


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="Load demo tenants and users, print their tokens.")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: the number of cores).")] = None,
) -> None:
    """Run the GraphQL server (embedded PostgreSQL when DATABASE_URL is not set)."""
    from schema.serving import run

    configure_logging()
    try:
        settings = load_settings()
        runtime = prepare(settings)
        if demo:
            _load_demo(runtime)
    except CliError as error:
        raise _fail(str(error)) from error
    err.print(f"GraphQL at http://{host}:{port}/graphql")
    run(settings, runtime.location.app_url, host=host, port=port, workers=workers or os.cpu_count() or 1)


def _load_demo(runtime: Runtime) -> None:
    """Create tenants and users, Kitsune's cap table and the billing story (all through the API), then print
    tokens."""
    from db.location import DatabaseLocation

    secret = runtime.settings.jwt_secret or ""
    if demo_missing(runtime.location):
        asyncio.run(create_demo_tenants(runtime.settings, runtime.location))
    users, ledger_missing = load_demo(runtime.location.owner_url)
    owner_only = DatabaseLocation(
        app_url=runtime.location.owner_url, owner_url=runtime.location.owner_url, embedded=False
    )
    ids = {user.email: UUID(user_id_by_email(owner_only, user.email)) for user in users}
    subjects = {user.email: dev_subject_by_email(owner_only, user.email) for user in users}
    if ledger_missing:
        problems = asyncio.run(
            seed_kitsune_captable(runtime.settings, runtime.location.app_url, ids["founder@kitsune.example"])
        )
        if problems:
            raise CliError("the demo cap table was refused: " + "; ".join(problems))
    load_demo_billing(runtime.settings, runtime.location.app_url, ids)
    typer.echo("Demo users; send a token as 'Authorization: Bearer <token>':")
    for user in users:
        typer.echo(f"\n# {user.email}  ({user.role} of {user.tenant})")
        typer.echo(mint_token(secret, subjects[user.email], tenant=user.tenant))


@app.command()
def token(
    user: Annotated[str, typer.Option(help="The user's e-mail.")],
    tenant: Annotated[str | None, typer.Option(help="Slug of the tenant to act for.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 12 * 3600,
) -> None:
    """Mint a development token (HS256 with the configured or generated secret)."""
    try:
        settings = load_settings()
        if not settings.jwt_secret:
            raise CliError("tokens can be minted only with an HS256 secret (ROUNDPOOL_JWT_SECRET)")
        runtime = prepare(settings)
        subject = dev_subject_by_email(runtime.location, user)
    except CliError as error:
        raise _fail(str(error)) from error
    typer.echo(mint_token(settings.jwt_secret, subject, tenant=tenant, audience=settings.jwt_audience, ttl_seconds=ttl))


@app.command()
def graphql(
    document: Annotated[str, typer.Argument(help="A GraphQL document, or @FILE to read one.")],
    user: Annotated[str, typer.Option(help="Run as this user (e-mail).")],
    tenant: Annotated[str | None, typer.Option(help="Act for this tenant (slug).")] = None,
    variables: Annotated[str | None, typer.Option(help="Variables as a JSON object.")] = None,
    allow_errors: Annotated[
        bool, typer.Option(help="Exit 0 when a result union answers a problem (NotFound, InvalidInput, …).")
    ] = False,
) -> None:
    """Execute a document exactly as POST /graphql does (schema, limits, cost store, policies).

    Exit 2 when the response has errors, or when a result union answers a Problem type (select
    `__typename`) unless --allow-errors."""
    from cli.documents import run_document

    code, response = run_document(document, user, tenant, variables, allow_problems=allow_errors)
    if response is not None:
        typer.echo(json.dumps(response, indent=2, default=str))
    raise typer.Exit(code=code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations as the owner role (embedded, or MIGRATION_DATABASE_URL)."""
    try:
        settings = load_settings()
        runtime = prepare(settings, migrate=False, check_role=False)
        migrate_database(settings, runtime.location)
    except CliError as error:
        raise _fail(str(error)) from error
    err.print("database is at the latest revision")


@db_app.command("url")
def db_url(role: Annotated[DbRole, typer.Option(help="Whose connection string.")] = DbRole.APP) -> None:
    """Print a DSN usable with psql (the configured server's, or the embedded one's, left running)."""
    try:
        runtime = prepare(load_settings(), migrate=False, keep_running=True, check_role=False)
    except CliError as error:
        raise _fail(str(error)) from error
    typer.echo(runtime.location.app_url if role is DbRole.APP else runtime.location.owner_url)


@db_app.command("citus-plan")
def db_citus_plan() -> None:
    """Print the Citus calls that distribute the migrated database (docs/scaling.md), in order; exit 1 with
    what breaks the rules when a table cannot be distributed."""
    from cli.citus_plan import citus_statements

    try:
        statements = citus_statements(prepare(load_settings(), migrate=False, check_role=False).location)
    except CliError as error:
        raise _fail(str(error)) from error
    typer.echo("\n".join(statements))


@db_app.command("bootstrap")
def db_bootstrap(
    owner_password_file: Annotated[
        Path | None, typer.Option(help="File with roundpool_owner's password (else ROUNDPOOL_OWNER_PASSWORD[_FILE]).")
    ] = None,
    app_password_file: Annotated[
        Path | None, typer.Option(help="File holding roundpool_app's password (else ROUNDPOOL_APP_PASSWORD[_FILE]).")
    ] = None,
) -> None:
    """Create the roles and the database on a server you administer (BOOTSTRAP_DATABASE_URL, a superuser).

    Both login roles need a password: from the options' files, ROUNDPOOL_OWNER_PASSWORD_FILE /
    ROUNDPOOL_APP_PASSWORD_FILE (Docker secrets), or ROUNDPOOL_OWNER_PASSWORD / ROUNDPOOL_APP_PASSWORD.
    Run again to change them.
    """
    from cli.bootstrap import run_bootstrap

    try:
        run_bootstrap(owner_password_file, app_password_file)
    except CliError as error:
        raise _fail(str(error)) from error
    err.print("roles and database are in place")


@app.command()
def sdl(write: Annotated[bool, typer.Option(help="Write schema/schema.graphql instead of printing.")] = False) -> None:
    """Print the GraphQL schema (SDL), or refresh the snapshot file."""
    from schema.sdl import current_sdl, write_snapshot

    if write:
        err.print(f"wrote {write_snapshot()}")
    else:
        typer.echo(current_sdl(), nl=False)


@app.command()
def demo() -> None:
    """Load the demo data and print a token for each demo user."""
    try:
        settings = load_settings()
        runtime = prepare(settings)
        _load_demo(runtime)
    except CliError as error:
        raise _fail(str(error)) from error


ocf_app = typer.Typer(no_args_is_help=True, help="Open Cap Format packages: import into and export from a cap table.")
app.add_typer(ocf_app, name="ocf")


@ocf_app.command("import")
def ocf_import(
    path: Annotated[Path, typer.Argument(help="A package folder, an .ocf.zip, or a manifest file.")],
    user: Annotated[str, typer.Option(help="Run as this user (e-mail).")],
    tenant: Annotated[str, typer.Option(help="The startup (slug) whose ledger receives the package.")],
) -> None:
    """Validate and import a package (all or nothing), through the same resolver and policies as the API."""
    from cli.ocf import run_import

    raise typer.Exit(code=run_import(path, user, tenant))


@ocf_app.command("export")
def ocf_export(
    out: Annotated[Path, typer.Argument(help="Where to write: a .zip name gives an archive, else a folder.")],
    user: Annotated[str, typer.Option(help="Run as this user (e-mail).")],
    tenant: Annotated[str, typer.Option(help="The startup (slug) whose ledger to export.")],
) -> None:
    """Export the cap table as an OCF 1.2 package."""
    from cli.ocf import run_export

    raise typer.Exit(code=run_export(out, user, tenant))


cost_app = typer.Typer(no_args_is_help=True, help="Cloud cost: import billing files (CUR, CUR 2.0, FOCUS).")
app.add_typer(cost_app, name="cost")


@cost_app.command("import")
def cost_import(
    path: Annotated[str, typer.Argument(help="A server-side file (CSV, .gz, .zip, Parquet) or an s3:// URI.")],
    user: Annotated[str, typer.Option(help="Run as this user (e-mail): a billing admin of the operator.")],
    tenant: Annotated[str, typer.Option(help="The operator (slug) that imports.")],
    wait: Annotated[bool, typer.Option(help="Follow the job to its end (runs it here if no worker is up).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    late_data: Annotated[
        LateDataOption,
        typer.Option(
            "--late-data",
            help="Rows of a closed period: 'reject' fails the import; 'corrections' re-homes them into the next "
            "open period as corrections.",
        ),
    ] = LateDataOption.REJECT,
) -> None:
    """Queue a cost import through the same resolver and policies as the API's importCostReport.

    A manifest (`…-Manifest.json`) imports its whole assembly, as importCostAssembly does."""
    from cost import LateData
    from cost.manifests import is_manifest

    if is_manifest(path):
        from cli.assemblies import import_manifest, run_assemblies

        code = run_assemblies(
            import_manifest(path, LateData(late_data.value)), user, tenant, wait=wait, as_json=as_json
        )
        raise typer.Exit(code=code)
    from cli.costs import run_cost_import

    raise typer.Exit(
        code=run_cost_import(path, user, tenant, wait=wait, as_json=as_json, late_data=LateData(late_data.value))
    )


@cost_app.command("sync")
def cost_sync(
    user: Annotated[str, typer.Option(help="Run as this user (e-mail): a billing admin of the operator.")],
    tenant: Annotated[str, typer.Option(help="The operator (slug) whose report sources are synced.")],
    wait: Annotated[
        bool, typer.Option(help="Follow the queued assemblies to their end (runs them here if no worker is up).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
) -> None:
    """List the operator's registered report sources now and queue their new deliveries (syncReportSources)."""
    from cli.assemblies import run_assemblies, sync_sources

    raise typer.Exit(code=run_assemblies(sync_sources, user, tenant, wait=wait, as_json=as_json))


@cost_app.command("migrate-store")
def cost_migrate_store() -> None:
    """Move a cost store of the old single-catalog layout to one store per operator (idempotent)."""
    from cli.costs import run_migrate_store

    raise typer.Exit(code=run_migrate_store())


@app.command()
def worker(
    check: Annotated[
        bool, typer.Option("--check", help="Health probe: exit 0 if this data folder's worker heartbeated lately.")
    ] = False,
) -> None:
    """Run the background job queue (cost imports, invoice runs) until interrupted.

    At start and every ROUNDPOOL_JOB_RECOVERY_INTERVAL_S it retries the jobs of workers that stopped
    heartbeating (ROUNDPOOL_JOB_STALLED_AFTER_S), up to ROUNDPOOL_JOB_MAX_RETRIES times per job. While it runs
    it writes a heartbeat into $ROUNDPOOL_HOME/worker-heartbeat, which `--check` reads."""
    from cli.costs import check_worker, run_worker

    raise typer.Exit(code=check_worker() if check else run_worker())


app.add_typer(tenants_app, name="tenants")

invoices_app = typer.Typer(no_args_is_help=True, help="Invoices: close a billing period.")
app.add_typer(invoices_app, name="invoices")


@invoices_app.command("close")
def invoices_close(
    period: Annotated[str, typer.Option(help="The billing period, YYYY-MM.")],
    user: Annotated[str, typer.Option(help="Run as this user (e-mail): a billing admin of the operator.")],
    tenant: Annotated[str | None, typer.Option(help="Close this billed tenant's invoice (slug).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Close every tenant the operator bills.")] = False,
    operator: Annotated[str | None, typer.Option(help="The operator (slug) to act for.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Close invoices through the same functions as `closeInvoice`: one transaction per invoice."""
    from cli.invoices import run_close

    raise typer.Exit(code=run_close(period, tenant, every, user, operator, as_json))


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="roundpool")


if __name__ == "__main__":  # pragma: no cover
    main()
