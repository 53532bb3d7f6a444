"""``procpilot train``: train intent classifiers and the language model; list and promote intents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID

from procpilot.cli.common import console, err, fail
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
    force: Annotated[
        bool, typer.Option(help="Train even when nothing changed since the promoted version.")
    ] = False,
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
            trained, fresh = intent_models.train_pack(
                pack, settings, promote=promote, progress=progress, dataset=reviewed, force=force
            )
        except ProcpilotError as error:
            fail(error)
    if not fresh:
        console.print(
            f"{trained.pack} intents: nothing changed since version {trained.version}, which stays"
            " promoted (--force trains again)",
            highlight=False,
        )
        return
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


def _bar() -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def _run_job(job_id: str) -> None:
    container = build(Settings())
    who = system_principal(container.settings.default_tenant)
    try:
        with _bar() as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            version_id = container.training.run(who.tenant, job_id, progress)
        version = container.training.version(who, version_id)
    except ProcpilotError as error:
        fail(f"{error}\n  the job's log: {container.training.folder(who.tenant, job_id) / 'job.log'}")
    finally:
        container.close()
    figures = version["figures"]
    console.print(f"model version {version_id} (candidate); job {job_id}", highlight=False)
    for side in ("baseline", "candidate"):
        console.print(f"  {side}: {json.dumps(figures[side])}", highlight=False)
    console.print(f"  training: {json.dumps(figures['training'])}", highlight=False)
    console.print(f"promote it with: procpilot models promote {version_id}", highlight=False)


@train.command("llm")
def train_llm(
    pack_id: Annotated[str, typer.Argument(help="The pack whose command generator to train.")],
    dataset: Annotated[str, typer.Option(help="The dataset version to learn from (procpilot data list).")],
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 60,
    batch_size: Annotated[int, typer.Option(help="Examples a step.")] = 8,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 5e-5,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 10,
    base: Annotated[
        Path | None,
        typer.Option(help="A GGUF file or Hugging Face model folder (default: the embedded model)."),
    ] = None,
    held_out: Annotated[float, typer.Option(help="Share of conversations held out to evaluate on.")] = 0.2,
    tests: Annotated[bool, typer.Option(help="Also run the pack's conversation tests with it.")] = True,
) -> None:
    """Fine-tune the embedded language model as the pack's command generator, here, with a
    progress bar: GGUF in, GGUF out, evaluated against the promoted model (or the untuned one).
    Interrupted, it continues from its last checkpoint with `procpilot train resume JOB`."""
    container = build(Settings())
    try:
        who = system_principal(container.settings.default_tenant)
        job = container.training.create_job(
            who,
            pack_id,
            dataset,
            base=base,
            settings={
                "steps": steps,
                "batch_size": batch_size,
                "learning_rate": learning_rate,
                "checkpoint_every": checkpoint_every,
            },
            run_tests=tests,
            held_out=held_out,
            start=False,
        )
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    err.print(f"training job {job['id']}", highlight=False)
    _run_job(job["id"])


@train.command("resume")
def train_resume(
    job_id: Annotated[str, typer.Argument(help="The job to continue (procpilot train jobs).")],
) -> None:
    """Continue a training job from its last checkpoint (its finished stages are skipped)."""
    _run_job(job_id)


@train.command("jobs")
def train_jobs() -> None:
    """The training jobs: stage, progress, the model version they made."""
    container = build(Settings(), load_packs=False)
    try:
        rows = container.training.jobs(system_principal(container.settings.default_tenant))
    finally:
        container.close()
    for row in rows:
        console.print(
            f"{row['id']}  {row['pack_id']} {row['use']}  {row['status']} {row['stage']}"
            f"  {row['step']}/{row['total']}  {row['version_id'] or ''}  {row['error'] or ''}",
            highlight=False,
        )
