"""Pack commands: ``init``, ``validate``, ``test`` and ``schema``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from procpilot.cli.common import console, fail
from procpilot.domain.errors import ProcpilotError
from procpilot.services.packs import management as pack_service
from procpilot.services.packs.conversation_tests import CaseResult, run_pack_tests


def init(
    target: Annotated[Path, typer.Argument(help="Folder to create the pack in.")],
    pack_id: Annotated[str | None, typer.Option("--id", help="Pack id (default: the folder name).")] = None,
) -> None:
    """Create a new pack from a working template (a flow, a tool, a test)."""
    try:
        written = pack_service.init_pack(target, pack_id or target.name)
    except ProcpilotError as error:
        fail(error)
    for path in written:
        console.print(f"  created {path}")
    console.print(f"Next: procpilot validate {target} && procpilot test {target}")


def validate(pack: Annotated[Path, typer.Argument(help="The pack folder.")]) -> None:
    """Check a pack; list every problem with file, line, what was expected and what was found."""
    problems = pack_service.validate(pack)
    if not problems:
        console.print(f"[green]✓[/] {pack} is valid")
        return
    console.print(f"[red]✗[/] {pack}: {len(problems)} problem(s)")
    for problem in problems:
        console.print(f"  {problem}", markup=False, highlight=False)
    raise typer.Exit(1)


def test(
    pack: Annotated[Path, typer.Argument(help="The pack folder.")],
    k: Annotated[str | None, typer.Option("-k", help="Only tests whose name contains this.")] = None,
    show: Annotated[bool, typer.Option("--show", help="Print the transcript of failed tests.")] = False,
    database_url: Annotated[
        str | None, typer.Option(help="Run on this database (default: a temporary SQLite).")
    ] = None,
    understanding: Annotated[
        str, typer.Option(help="rules (example matcher) or classifier (train an intent classifier first).")
    ] = "rules",
) -> None:
    """Run the pack's conversation tests; exit non-zero if any fails."""

    def progress(result: CaseResult) -> None:
        mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
        console.print(f"{mark} {result.name} [dim]({result.seconds:.2f}s)[/]")

    try:
        report = run_pack_tests(
            pack, only=k, database_url=database_url, progress=progress, understanding=understanding
        )
    except ProcpilotError as error:
        fail(error)
    table = Table(title=f"pack {report.pack}: {report.passed} passed, {report.failed} failed")
    table.add_column("file")
    table.add_column("test")
    table.add_column("result")
    table.add_column("details", overflow="fold")
    for result in report.results:
        table.add_row(
            result.file,
            result.name,
            "[green]pass[/]" if result.passed else "[red]FAIL[/]",
            "\n".join(result.failures),
        )
    console.print(table)
    if show:
        for result in report.results:
            if not result.passed:
                console.rule(result.name)
                console.print("\n".join(result.transcript), markup=False, highlight=False)
    console.print(f"{report.passed} passed, {report.failed} failed")
    if report.failed or not report.results:
        raise typer.Exit(1)


def schema(kind: Annotated[str, typer.Argument(help="flow or pack")] = "flow") -> None:
    """Print the JSON Schema of flow files or of pack.yaml."""
    try:
        sys.stdout.write(pack_service.schema_json(kind))
    except ProcpilotError as error:
        fail(error)
