"""What every command shares: the consoles, how an error ends a command, progress bars, and how
a benchmark's report is printed (a table for people, ``--json`` for scripts)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import TaskID
from rich.table import Table

from procpilot.bench.report import Figures
from procpilot.domain.errors import ProcpilotError

console = Console()
err = Console(stderr=True)


def fail(error: ProcpilotError | str, code: int = 2) -> NoReturn:
    """Print the error on stderr and end the command with ``code``."""
    err.print(f"[red]error:[/] {error}", highlight=False)
    raise typer.Exit(code)


def note(message: str) -> None:
    """A progress line on stderr (stdout stays clean for ``--json``)."""
    err.print(f"[dim]{message}[/]", highlight=False)


def show(report: Any, figures: Callable[[Any], Figures], as_json: bool) -> None:
    """Print a benchmark's report: JSON exactly as the benchmark made it, or its figures as a table."""
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    made = figures(report)
    table = Table(title=made.title)
    for index, column in enumerate(made.columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in made.rows:
        table.add_row(*row)
    console.print(table)
    for line in made.notes:
        console.print(line, markup=False, highlight=False)


@contextmanager
def document_progress(label: str) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar on stderr for ingestion; yields the callback that moves it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task: TaskID = bar.add_task(label, total=None)

        def progress(done: int, total: int, source: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{label}: {source[:40]}")

        yield progress
