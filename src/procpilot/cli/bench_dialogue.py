"""``procpilot bench dialogue``: simulated people against the retail and workplace packs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from procpilot.bench.dialogue import Run, run_dialogue_bench
from procpilot.domain.errors import ProcpilotError

console = Console()
err = Console(stderr=True)


def dialogue(
    data: Annotated[Path, typer.Option(help="Folder with retail-shop/tasks_train.json.")] = Path("../shared/data"),
    packs_dir: Annotated[Path, typer.Option("--packs", help="Folder with the retail and workplace packs.")] = Path(
        "packs"
    ),
    pack: Annotated[list[str] | None, typer.Option(help="retail and/or workplace (default both).")] = None,
    seeds: Annotated[int, typer.Option(help="Conversations per scenario, each with another seed.")] = 3,
    transcripts: Annotated[
        Path | None, typer.Option(help="Write every conversation to PACK.md in this folder.")
    ] = None,
    commands_model: Annotated[
        str | None,
        typer.Option(help="Understand with the LLM command generator on this model (embedded, or a PROCPILOT_MODELS name)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N scenarios of each pack.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """pass^1, pass^k, turns, facts asked again, opening routing and time per turn, per pack."""

    def progress(run: Run) -> None:
        err.print(f"[dim]{run.scenario} seed {run.seed}: {'pass' if run.passed else 'fail ' + run.why}[/]")

    try:
        figures = run_dialogue_bench(
            packs_dir=packs_dir,
            data_dir=data,
            packs=tuple(pack or ("retail", "workplace")),
            seeds=seeds,
            progress=progress,
            keep_transcripts=transcripts,
            commands_model=commands_model,
            limit=limit,
        )
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    report = [f.as_dict() for f in figures]
    if json_out:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    how = f"LLM command generator on {commands_model}" if commands_model else "rules, no model"
    table = Table(title=f"bench dialogue ({seeds} seeds, understanding: {how})")
    columns = ["pack", "scenarios", "pass^1", *([f"pass^{seeds}"] if seeds > 1 else []), "turns", "asked again",
               "routed", "und. p50 ms", "und. p95 ms", "turn p50 ms"]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "pack" else "right")
    for row in report:
        table.add_row(
            row["pack"], str(row["scenarios"]), f"{row['pass^1']:.3f}",
            *([f"{row[f'pass^{seeds}']:.3f}"] if seeds > 1 else []),
            str(row["user_turns_per_scenario"]), str(row["facts_asked_again_per_scenario"]),
            f"{row['opening_routed_right']:.1%}" if row["opening_routed_right"] is not None else "-",
            str(row["understanding_ms_p50"]), str(row["understanding_ms_p95"]), str(row["turn_ms_p50"]),
        )  # fmt: skip
    console.print(table)
    for row in report:
        for failure in row["failed"]:
            console.print(f"  {row['pack']} {failure}", markup=False, highlight=False)
