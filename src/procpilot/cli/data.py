"""``procpilot data``: review queues, datasets built from reviewed turns, and their exports.

The command line acts as procpilot itself on the server (``system_principal``: an admin of the
tenant), like ``procpilot users``; its exports are recorded under ``system``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from procpilot.cli.common import console, fail
from procpilot.domain.access import Principal
from procpilot.domain.errors import ProcpilotError
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings

data = typer.Typer(help="Review queues, datasets and exports.", no_args_is_help=True)
Tenant = Annotated[str | None, typer.Option(help="Tenant (default: the default tenant).")]


def _open(tenant: str | None) -> tuple[Container, Principal]:
    container = build(Settings(), load_packs=False)
    who = Principal(
        tenant or container.settings.default_tenant, "cli", ("admin",), name="command line", via="system"
    )
    return container, who


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@data.command("queue")
def queue(
    queue_id: Annotated[str, typer.Argument(help="The queue's id.")],
    signals: Annotated[
        str,
        typer.Option(
            help="Comma-separated: thumbs_down, clarification, out_of_scope, handoff, rejected_answer, tool_error, model_fallback."
        ),
    ] = "thumbs_down",
    sample: Annotated[float, typer.Option(help="Share of all turns to sample into it (0 to 1).")] = 0.0,
    packs: Annotated[str, typer.Option(help="Only these packs (comma-separated; default all).")] = "",
    role: Annotated[
        str, typer.Option(help="The business or platform role whose holders review it.")
    ] = "reviewer",
    reviews: Annotated[int, typer.Option(help="Answers needed per item.")] = 1,
    guideline: Annotated[str, typer.Option(help="What reviewers should do.")] = "",
    tenant: Tenant = None,
) -> None:
    """Create or change a review queue."""
    container, who = _open(tenant)
    try:
        made = container.reviews.save_queue(
            who, queue_id, signals=_split(signals), sample_rate=sample, packs=_split(packs),
            assignee_role=role or None, reviews_needed=reviews, guideline=guideline,
        )  # fmt: skip
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    console.print(f"queue {made['id']}: {', '.join(made['signals']) or 'sample only'}", highlight=False)


@data.command("build")
def build_dataset(
    name: Annotated[str, typer.Argument(help="The dataset's name.")],
    packs: Annotated[str, typer.Option(help="Only these packs (comma-separated).")] = "",
    since: Annotated[str | None, typer.Option(help="Turns from this date or time on (ISO).")] = None,
    until: Annotated[str | None, typer.Option(help="Turns before this date or time (ISO).")] = None,
    queues: Annotated[str, typer.Option(help="Only turns in these queues (comma-separated).")] = "",
    reviewed_only: Annotated[
        bool, typer.Option("--reviewed-only", help="Only turns whose review is settled.")
    ] = False,
    labels: Annotated[str, typer.Option(help="Only turns labelled with these intents.")] = "",
    tenant: Tenant = None,
) -> None:
    """Build a new, redacted, content-hashed version of a dataset (the newest one if nothing changed)."""
    query = {
        "packs": _split(packs), "since": since, "until": until, "queues": _split(queues),
        "reviewed_only": reviewed_only, "labels": _split(labels),
    }  # fmt: skip
    container, who = _open(tenant)
    try:
        made = container.datasets.build(who, name, query)
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    state = "unchanged, still" if made["unchanged"] else "built"
    console.print(
        f"{state} {made['id']}: {made['items']} items, sha256 {made['content_hash'][:16]}…", highlight=False
    )


@data.command("list")
def list_datasets(
    name: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None, tenant: Tenant = None
) -> None:
    """The dataset versions, newest last."""
    container, who = _open(tenant)
    try:
        versions = container.datasets.versions(who, name)
    finally:
        container.close()
    table = Table(title="dataset versions")
    for column in ("id", "items", "hash", "policy", "by", "at", "erased"):
        table.add_column(column)
    for v in versions:
        table.add_row(v["id"], str(v["items"]), v["content_hash"][:12], v["policy_version"], v["created_by"],
                      (v["created_at"] or "")[:19], ", ".join(v["erased_conversations"]))  # fmt: skip
    console.print(table)


@data.command("diff")
def diff(old: str, new: str, tenant: Tenant = None) -> None:
    """Turns added, removed and changed between two versions (JSON)."""
    container, who = _open(tenant)
    try:
        sys.stdout.write(json.dumps(container.datasets.diff(who, old, new), indent=2) + "\n")
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()


@data.command("export")
def export(
    version: Annotated[str, typer.Argument(help="The version's id (procpilot data list).")],
    format: Annotated[
        str, typer.Option(help="openai-sft, openai-dpo, kto, nlu, out-of-scope, commands or tests.")
    ] = "openai-sft",
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: standard output).")] = None,
    tenant: Tenant = None,
) -> None:
    """Export a version in a training format; the export is recorded."""
    container, who = _open(tenant)
    try:
        text, rows = container.datasets.export(who, version, format)
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {rows} rows to {out}", highlight=False)


@data.command("delete")
def delete(version: str, tenant: Tenant = None) -> None:
    """Delete a dataset version."""
    container, who = _open(tenant)
    try:
        container.datasets.delete(who, version)
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()
    console.print(f"deleted {version}", highlight=False)
