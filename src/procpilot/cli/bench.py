"""``procpilot bench``: benchmarks that print figures (a table, or ``--json`` for scripts).

Each benchmark lives in ``procpilot.bench``; this module only reads the options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from procpilot.cli.common import fail, note, show
from procpilot.domain.errors import ProcpilotError
from procpilot.services.platform.settings import Settings

bench = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@bench.command("dialogue")
def dialogue(
    data: Annotated[Path, typer.Option(help="Folder with retail-shop/tasks_train.json.")] = Path(
        "../shared/data"
    ),
    packs_dir: Annotated[
        Path, typer.Option("--packs", help="Folder with the retail and workplace packs.")
    ] = Path("packs"),
    pack: Annotated[list[str] | None, typer.Option(help="retail and/or workplace (default both).")] = None,
    seeds: Annotated[int, typer.Option(help="Conversations per scenario, each with another seed.")] = 3,
    transcripts: Annotated[
        Path | None, typer.Option(help="Write every conversation to PACK.md in this folder.")
    ] = None,
    commands_model: Annotated[
        str | None,
        typer.Option(
            help="Understand with the LLM command generator on this model (embedded, or a PROCPILOT_MODELS name)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N scenarios of each pack.")] = None,
    as_json: AsJson = False,
) -> None:
    """pass^1, pass^k, turns, facts asked again, opening routing and time per turn, per pack."""
    from procpilot.bench import dialogue as dialogue_bench

    def progress(run: dialogue_bench.Run) -> None:
        note(f"{run.scenario} seed {run.seed}: {'pass' if run.passed else 'fail ' + run.why}")

    try:
        results = dialogue_bench.run_dialogue_bench(
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
        fail(error)
    how = f"LLM command generator on {commands_model}" if commands_model else "rules, no model"
    show([f.as_dict() for f in results], lambda r: dialogue_bench.figures(r, seeds, how), as_json)


@bench.command("train")
def train(
    data: Annotated[Path, typer.Option(help="Folder with retail-shop/tasks_train.json.")] = Path(
        "../shared/data"
    ),
    packs_dir: Annotated[
        Path, typer.Option("--packs", help="Folder with the retail and workplace packs.")
    ] = Path("packs"),
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 120,
    batch_size: Annotated[int, typer.Option(help="Examples a step.")] = 8,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 5e-5,
    threads: Annotated[int, typer.Option(help="Training threads.")] = 2,
    limit: Annotated[
        int | None, typer.Option(help="Only the first N dialogue scenarios of each pack.")
    ] = None,
    dialogue: Annotated[bool, typer.Option(help="Also run bench dialogue on the held-out scenarios.")] = True,
    as_json: AsJson = False,
) -> None:
    """Fine-tune the embedded model as a command generator on the packs' recorded conversations;
    commands exactly right on held-out turns and pass^1 on held-out scenarios, before and after."""
    from procpilot.bench import train as train_bench

    try:
        report = train_bench.run_train_bench(
            packs_dir=packs_dir,
            data_dir=data,
            steps=steps,
            batch_size=batch_size,
            learning_rate=learning_rate,
            threads=threads,
            limit=limit,
            dialogue=dialogue,
            say=note,
        )
    except ProcpilotError as error:
        fail(error)
    show(report, train_bench.figures, as_json)


@bench.command("load")
def load_burst(
    conversations: Annotated[int, typer.Option(help="Conversations in the burst.")] = 200,
    clients: Annotated[int, typer.Option(help="HTTP clients sending at once.")] = 20,
    database: Annotated[
        list[str] | None, typer.Option(help="sqlite and/or postgresql (default both).")
    ] = None,
    admin_url: Annotated[
        str, typer.Option(help="PostgreSQL to create the load database on (dropped afterwards).")
    ] = DEFAULT_PG,
    as_json: AsJson = False,
) -> None:
    """A burst of conversations (6 messages each) from many HTTP clients: throughput, p50/p95/p99,
    errors, and whether every message and every approval requested is on record afterwards."""
    from procpilot.bench import load as load_bench

    try:
        report = load_bench.run(
            Settings().packs_dir,
            conversations=conversations,
            clients=clients,
            databases=tuple(database or ("sqlite", "postgresql")),
            admin_url=admin_url,
            progress=note,
        )
    except ProcpilotError as error:
        fail(error)
    show(report, load_bench.figures, as_json)
    if any(row["lost"] or row["errors"] for row in report["databases"].values()):
        raise typer.Exit(1)


@bench.command("redaction")
def redaction(
    sentences: Annotated[int, typer.Option(help="Sentences to make and redact.")] = 240,
    as_json: AsJson = False,
) -> None:
    """Recall and precision of redaction per kind of personal data, English and Chinese."""
    from procpilot.bench import redaction as redaction_bench

    show(redaction_bench.run(sentences, progress=note), redaction_bench.figures, as_json)


@bench.command("api")
def api(
    people: Annotated[int, typer.Option(help="People claiming an expense per round (at most 54).")] = 16,
    concurrency: Annotated[str, typer.Option(help="How many at once, comma-separated.")] = "1,4",
    rounds: Annotated[int, typer.Option(help="Rounds, alternating HTTP and in-process.")] = 2,
    as_json: AsJson = False,
) -> None:
    """Conversation messages per second and latency over HTTP (uvicorn, sessions, CSRF) and
    in-process, with the ratio: what the HTTP layer costs."""
    from procpilot.bench import api as api_bench

    levels = [int(v) for v in concurrency.split(",") if v.strip()]
    report = api_bench.run(Settings().packs_dir, levels, min(people, 54), rounds, progress=note)
    show(report, api_bench.figures, as_json)


@bench.command("llm")
def llm(
    requests: Annotated[int, typer.Option(help="Requests per concurrency level and round.")] = 12,
    max_tokens: Annotated[int, typer.Option(help="Tokens generated per request.")] = 32,
    rounds: Annotated[int, typer.Option(help="Rounds, alternating the two paths.")] = 3,
    threads: Annotated[int | None, typer.Option(help="llama.cpp threads (default: 1 on 2 cores).")] = None,
    as_json: AsJson = False,
) -> None:
    """Embedded model speed through procpilot and through xllamacpp directly, with the overhead ratio."""
    from procpilot.bench import llm as llm_bench

    report = llm_bench.run(
        requests=requests, max_tokens=max_tokens, rounds=rounds, threads=threads, progress=note
    )
    show(report, llm_bench.figures, as_json)


@bench.command("kb")
def kb(
    pack: Annotated[
        Path, typer.Argument(help="The pack folder (with knowledge/ and bench/questions.yaml).")
    ] = Path("packs/bank-help"),
    database_url: Annotated[
        str | None, typer.Option(help="Run on this database (default: a temporary SQLite).")
    ] = None,
    keep: Annotated[
        bool, typer.Option(help="Reuse the documents an earlier run ingested into --database-url.")
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="Fit the re-ranker and the 'nothing found' threshold on bench/dev.yaml and save them."
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Retrieval (recall@1/@5, MRR) by each search, answers (the asked fact, refusals), time per question."""
    from procpilot.bench import kb as kb_bench

    try:
        if calibrate:
            fitted = kb_bench.calibrate(pack, database_url=database_url, keep=keep, progress=note)
            typer.echo(json.dumps(fitted, indent=2, default=float))
            return
        report = kb_bench.run(pack, database_url=database_url, keep=keep, progress=note)
    except ProcpilotError as error:
        fail(error)
    show(report, kb_bench.figures, as_json)


@bench.command("ingest")
def ingest(
    pack: Annotated[Path, typer.Argument(help="The pack folder (with knowledge/).")] = Path(
        "packs/bank-help"
    ),
    as_json: AsJson = False,
) -> None:
    """Documents per second read, embedded and stored, the way ingestion grouped chunks before and now."""
    from procpilot.bench import ingest as ingest_bench

    try:
        report = ingest_bench.run(pack, progress=note)
    except (ProcpilotError, FileNotFoundError) as error:
        fail(str(error))
    show(report, ingest_bench.figures, as_json)


@bench.command("soak")
def soak(
    instances: Annotated[
        int, typer.Option(help="Processes (each a conversation waiting for an approval).")
    ] = 1000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    kill_every: Annotated[float, typer.Option(help="Seconds between killing a worker with SIGKILL.")] = 6.0,
    admin_url: Annotated[
        str, typer.Option(help="PostgreSQL to create the soak database on (dropped afterwards).")
    ] = DEFAULT_PG,
    as_json: AsJson = False,
) -> None:
    """Durable processes through workers that keep being killed: none lost, none duplicated."""
    from procpilot.bench import soak as soak_bench

    try:
        report = soak_bench.run(
            instances=instances, workers=workers, kill_every=kill_every, admin_url=admin_url, progress=note
        )
    except ProcpilotError as error:
        fail(error)
    show(report, soak_bench.figures, as_json)
    if report["lost"] or report["duplicated"]:
        raise typer.Exit(1)


@bench.command("nlu")
def nlu(
    dataset: Annotated[str, typer.Option(help="banking77 or clinc150")],
    data: Annotated[Path, typer.Option(help="Folder with the data set's files.")],
    shots: Annotated[int | None, typer.Option(help="Train on N examples per intent only.")] = None,
    method: Annotated[
        str, typer.Option(help="lr (frozen encoder) or finetune (tune the encoder first).")
    ] = "lr",
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs.")] = 3,
    as_json: AsJson = False,
) -> None:
    """Intent accuracy (and out-of-scope recall) on a public benchmark."""
    from procpilot.bench import nlu as nlu_bench

    try:
        report = nlu_bench.run(dataset, data, shots=shots, method=method, epochs=epochs, progress=note)
    except ProcpilotError as error:
        fail(error)
    show(report, nlu_bench.figures, as_json)
