"""``procpilot train``: train, list and promote models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from procpilot.cli.common import console, fail
from procpilot.domain.access import system_principal
from procpilot.domain.errors import ProcpilotError
from procpilot.services.models import intent_models
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings

train = typer.Typer(help="Train, list and promote models.", no_args_is_help=True)


@train.command("intents")
def train_intents(
    pack: Annotated[Path, typer.Argument(help="The pack folder.")],
    promote: Annotated[bool, typer.Option(help="Make the new version the one the server loads.")] = True,
    dataset: Annotated[
        str | None,
        typer.Option(help="Add the reviewed turns of this dataset version (procpilot data list)."),
    ] = None,
) -> None:
    """Train the pack's intent classifier (embeddings + calibrated head + out-of-scope threshold),
    from the pack's examples and, with --dataset, the intents reviewers settled."""
    reviewed = None
    if dataset is not None:
        container = build(Settings(), load_packs=False)
        try:
            who = system_principal(container.settings.default_tenant)
            reviewed = (dataset, container.datasets.items(who, dataset))
        except ProcpilotError as error:
            fail(error)
        finally:
            container.close()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    settings = Settings()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            trained = intent_models.train_pack(
                pack, settings, promote=promote, progress=progress, dataset=reviewed
            )
        except ProcpilotError as error:
            fail(error)
    console.print(
        f"trained {trained.pack} intents version {trained.version}{' (promoted)' if promote else ''}"
    )
    for key, value in trained.metrics.items():
        console.print(f"  {key}: {value}", highlight=False)


@train.command("list")
def train_list(pack_id: Annotated[str, typer.Argument(help="The pack id.")]) -> None:
    """The trained intent-model versions of a pack, and which is promoted."""
    for row in intent_models.list_versions(Settings(), pack_id):
        mark = "*" if row["promoted"] else " "
        console.print(f"{mark} {row['version']}  {row['metrics']}", highlight=False)


@train.command("promote")
def train_promote(pack_id: str, version: str) -> None:
    """Promote a trained version; a running server picks it up on POST /api/packs/{id}/reload."""
    try:
        intent_models.promote_pack_version(Settings(), pack_id, version)
    except ProcpilotError as error:
        fail(error)
    console.print(f"promoted {pack_id} intents {version}")
