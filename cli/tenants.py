"""`roundpool tenants create-operator`: the only way to create a platform operator (as the owner role)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from cli.runtime import CliError, load_settings, prepare
from db.operators import OperatorRefused, create_operator

tenants_app = typer.Typer(no_args_is_help=True, help="Tenants the API cannot create: platform operators.")
err = Console(stderr=True, soft_wrap=True)


@tenants_app.command("create-operator")
def create_operator_command(
    slug: Annotated[str, typer.Option(help="3 to 40 lowercase letters, digits and inner hyphens.")],
    name: Annotated[str, typer.Option(help="The operator's display name.")],
    owner_email: Annotated[str, typer.Option(help="Its first owner: joins if a user has it, else is invited.")],
) -> None:
    """Create a platform operator whose owner is `--owner-email` (a membership, or an owner invitation)."""
    try:
        runtime = prepare(load_settings(), check_role=False)
        created = create_operator(runtime.location.owner_url, slug, name, owner_email)
    except (CliError, OperatorRefused) as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from error
    joined = "is its owner" if created.owner_is_member else "is invited as its owner (acceptInvitation)"
    typer.echo(f"operator {slug} created ({created.tenant_id}); {owner_email.strip().lower()} {joined}")
