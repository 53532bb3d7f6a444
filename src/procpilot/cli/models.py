"""``procpilot models``: the model versions trained here; evaluate, promote, reject, roll back.

The command line acts as procpilot itself (``system_principal``) on the default tenant."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from procpilot.cli.common import console, fail
from procpilot.domain.access import system_principal
from procpilot.domain.errors import ProcpilotError
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings

models = typer.Typer(
    help="Model versions trained here: list, promote, reject, roll back.", no_args_is_help=True
)


@contextmanager
def _service() -> Iterator[tuple[Container, Any]]:
    container = build(Settings(), load_packs=False)
    try:
        yield container, system_principal(container.settings.default_tenant)
    except ProcpilotError as error:
        fail(error)
    finally:
        container.close()


def _figure(figures: dict[str, Any], side: str) -> str:
    values = figures.get(side) or {}
    keys = ("commands_exact", "commands_usable", "tests_passed", "cases")
    return " ".join(f"{k}={values[k]}" for k in keys if k in values)


@models.command("list")
def models_list(pack_id: Annotated[str | None, typer.Argument(help="Only this pack's.")] = None) -> None:
    """Every version: status, what it was trained from, its figures against its baseline."""
    with _service() as (container, who):
        rows = container.training.versions(who, pack_id)
    for row in rows:
        console.print(
            f"{row['id']}  {row['status']:9}  {row['pack_id']} {row['use']}  dataset {row['dataset_version']}"
            f"  base sha256 {row['base_sha256'][:12]}\n    candidate {_figure(row['figures'], 'candidate')}"
            f"\n    baseline  {_figure(row['figures'], 'baseline')}",
            highlight=False,
        )


@models.command("show")
def models_show(version_id: str) -> None:
    """One version in full, with its audit trail."""
    with _service() as (container, who):
        version = container.training.version(who, version_id)
    console.print_json(json.dumps(version, default=str))


def _act(action: Callable[[Container, Any], Any], done: Callable[[Any], str]) -> None:
    with _service() as (container, who):
        result = action(container, who)
    console.print(done(result), highlight=False)


@models.command("promote")
def models_promote(version_id: str) -> None:
    """Promote a candidate: only when it is at least as good as the promoted one on every figure."""
    _act(
        lambda c, who: c.training.promote(who, version_id),
        lambda r: f"promoted {version_id}; moved: {json.dumps(r['gate']['moved'])}",
    )


@models.command("reject")
def models_reject(version_id: str, reason: Annotated[str, typer.Option(help="Why.")]) -> None:
    """Reject a candidate (it stays on record)."""
    _act(lambda c, who: c.training.reject(who, version_id, reason), lambda _: f"rejected {version_id}")


@models.command("rollback")
def models_rollback(
    pack_id: str, use: Annotated[str, typer.Option(help="The use whose model to roll back.")] = "commands"
) -> None:
    """Put back the version promoted before the current one (or none: the pack's own setting)."""
    _act(
        lambda c, who: c.training.rollback(who, pack_id, use),
        lambda r: f"rolled back {r['rolled_back']}; now serving {r['restored'] or 'the pack setting'}",
    )
