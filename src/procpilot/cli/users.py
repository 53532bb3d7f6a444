"""``procpilot users``: people's accounts and systems' API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from procpilot.cli.common import console, fail
from procpilot.domain.errors import ProcpilotError
from procpilot.services.access.accounts import parse_roles
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings

users = typer.Typer(help="People's accounts and systems' API keys.", no_args_is_help=True)


@users.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The login name.")],
    roles: Annotated[
        str,
        typer.Option(
            help="Comma-separated: admin, designer, approver, agent_user, auditor, reviewer, data_steward, or business roles."
        ),
    ] = "agent_user",
    user_id: Annotated[
        str | None, typer.Option("--id", help="The id packs see as user.id (default: the user name).")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: the default tenant).")] = None,
) -> None:
    """Create a login; the password is asked for (at least 10 characters)."""
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    container = build(Settings(), load_packs=False)
    try:
        created = container.accounts.ensure_account(
            tenant or container.settings.default_tenant,
            username,
            password,
            parse_roles(roles),
            user_id=user_id,
            display_name=name,
        )
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    console.print(f"created {username}" if created else f"{username} exists; nothing changed")


@users.command("key")
def users_key(
    name: Annotated[str, typer.Argument(help="What uses the key (a system's name).")],
    roles: Annotated[str, typer.Option(help="Comma-separated roles of the key.")] = "agent_user",
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: the default tenant).")] = None,
) -> None:
    """Issue an API key for a system; it is printed once (only its hash is kept)."""
    container = build(Settings(), load_packs=False)
    try:
        key = container.accounts.issue_key(
            tenant or container.settings.default_tenant,
            name,
            parse_roles(roles),
        )
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    console.print(key, highlight=False)
