"""``procpilot chat``: talk to a pack's assistant in the terminal."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from procpilot.cli.common import console, err
from procpilot.domain.errors import ProcpilotError
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings


def chat(
    pack: Annotated[str, typer.Option("--pack", "-p", help="Pack id to talk to.")],
    packs_dir: Annotated[
        Path | None, typer.Option(help="Folder of packs (default: PROCPILOT_PACKS_DIR or ./packs).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Your user id.")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Your roles (repeatable).")] = None,
    debug: Annotated[bool, typer.Option(help="Show the commands understood.")] = False,
) -> None:
    """Talk to a pack's assistant in the terminal. Type a button's number to press it; Ctrl-D ends."""
    settings = Settings() if packs_dir is None else Settings(packs_dir=packs_dir)
    container = build(settings)
    if pack not in container.catalog.packs:
        err.print(f"[red]pack {pack!r} is not loaded[/]")
        for name, problem in container.catalog.errors.items():
            err.print(f"{name}: {problem}", markup=False)
        raise typer.Exit(2)
    conversation = f"cli_{uuid.uuid4().hex[:12]}"
    console.print(f"[dim]conversation {conversation} with pack {pack}; Ctrl-D to leave[/]")
    buttons: list[dict[str, str]] = []
    while True:
        try:
            text = console.input("[bold cyan]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if text.strip().isdigit() and buttons and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        if not text.strip():
            continue
        try:
            reply = container.conversations.handle(
                tenant=settings.default_tenant,
                pack_id=pack,
                conversation_id=conversation,
                text=text,
                user_id=user,
                roles=role or [],
                channel="terminal",
            )
        except ProcpilotError as error:
            err.print(f"[red]{error}[/]", markup=True, highlight=False)
            continue
        if debug:
            console.print(f"[dim]{reply.commands}[/]", highlight=False)
        buttons = []
        for message in reply.messages:
            console.print(f"[bold green]bot>[/] {message['text']}", highlight=False)
            if message.get("buttons"):
                buttons = message["buttons"]
                for number, button in enumerate(buttons, start=1):
                    console.print(f"      [dim]{number}.[/] {button['title']}", highlight=False)
    container.close()
