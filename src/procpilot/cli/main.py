"""``procpilot``: init, validate, test, chat, serve, schema. Talks to services only."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import TaskID
from rich.table import Table

from procpilot.cli import bench_dialogue
from procpilot.domain.errors import ProcpilotError
from procpilot.services import intent_service
from procpilot.services import packs as pack_service
from procpilot.services.accounts import parse_roles
from procpilot.services.container import build
from procpilot.services.demo import ensure_demo_accounts
from procpilot.services.logging import configure_logging
from procpilot.services.pack_tests import CaseResult, run_pack_tests
from procpilot.services.settings import Settings

app = typer.Typer(help="procpilot: business processes carried out in conversation.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show log lines.")] = False) -> None:
    configure_logging(level="INFO" if verbose else "WARNING")


@app.command()
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


@app.command()
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
        err.print(f"[red]error:[/] {error}", markup=True, highlight=False)
        raise typer.Exit(2) from None
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


@app.command()
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    packs_dir: Annotated[Path | None, typer.Option(help="Folder of packs.")] = None,
) -> None:
    """Run the HTTP API (and, in the embedded default, everything else) in this process."""
    import os

    import uvicorn

    from procpilot.api.app import create_app

    updates = {k: v for k, v in {"host": host, "port": port, "packs_dir": packs_dir}.items() if v is not None}
    settings = Settings().model_copy(update=updates)
    configure_logging(level="INFO", json_logs=settings.log_json)
    application = create_app(settings, worker=True)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")
    # As for `procpilot worker`: processes still waiting hold pool threads; they are recorded.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def worker(
    worker_id: Annotated[
        str | None, typer.Option(help="This worker's id (default: PROCPILOT_WORKER_ID, else host and pid).")
    ] = None,
) -> None:
    """Run durable processes (approval deadlines, webhooks) and take over the work of dead workers.

    Several workers (and `procpilot serve` processes) may share one PostgreSQL database. Stops on
    Ctrl-C or SIGTERM, handing its unfinished processes to the others.
    """
    import os
    import signal
    import threading

    from procpilot.services.container import default_worker_id
    from procpilot.services.workers import Worker

    settings = Settings()
    configure_logging(level="INFO", json_logs=settings.log_json)
    container = build(settings)
    stop = threading.Event()
    running = Worker(
        container,
        worker_id or settings.worker_id or default_worker_id(),
        on_lost=lambda: os.kill(os.getpid(), signal.SIGTERM),
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    running.start()
    console.print(f"worker {running.executor_id} is running; Ctrl-C stops it", highlight=False)
    stop.wait()
    running.stop()
    container.close()
    # DBOS runs each waiting process in a pool thread that Python would join at exit, so a process
    # waiting days for its deadline would hold the exit for days. Everything is recorded: leave now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(3 if running.lost else 0)


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


@app.command()
def setup(
    demo: Annotated[bool, typer.Option("--demo", help="Also create the demo logins and print them.")] = False,
) -> None:
    """Create the database, load the packs, seed their business data and ingest their documents
    (safe to repeat: only new and changed documents are ingested again)."""
    container = build(Settings())
    with document_progress("documents") as progress:
        prepared = container.prepare(progress)
    for line in prepared:
        console.print(f"  prepared {line}", highlight=False)
    if demo:
        logins = ensure_demo_accounts(container.accounts, container.settings.default_tenant)
        console.print(f"  demo logins (tenant {container.settings.default_tenant}):", highlight=False)
        for line in logins:
            console.print(f"    {line}", highlight=False)
    for name, error in container.catalog.errors.items():
        err.print(f"[yellow]refused pack {name}[/]: {error}", highlight=False)
    container.close()


@app.command()
def init(
    target: Annotated[Path, typer.Argument(help="Folder to create the pack in.")],
    pack_id: Annotated[str | None, typer.Option("--id", help="Pack id (default: the folder name).")] = None,
) -> None:
    """Create a new pack from a working template (a flow, a tool, a test)."""
    try:
        written = pack_service.init_pack(target, pack_id or target.name)
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    for path in written:
        console.print(f"  created {path}")
    console.print(f"Next: procpilot validate {target} && procpilot test {target}")


users = typer.Typer(help="People's accounts and systems' API keys.", no_args_is_help=True)
app.add_typer(users, name="users")


@users.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The login name.")],
    roles: Annotated[
        str,
        typer.Option(
            help="Comma-separated: admin, designer, approver, agent_user, auditor, or business roles."
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
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
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
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    finally:
        container.close()
    console.print(key, highlight=False)


train = typer.Typer(help="Train, list and promote models.", no_args_is_help=True)
app.add_typer(train, name="train")


@train.command("intents")
def train_intents(
    pack: Annotated[Path, typer.Argument(help="The pack folder.")],
    promote: Annotated[bool, typer.Option(help="Make the new version the one the server loads.")] = True,
) -> None:
    """Train the pack's intent classifier (embeddings + calibrated head + out-of-scope threshold)."""
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
            trained = intent_service.train_pack(pack, settings, promote=promote, progress=progress)
        except ProcpilotError as error:
            err.print(f"[red]{error}[/]")
            raise typer.Exit(2) from None
    console.print(
        f"trained {trained.pack} intents version {trained.version}{' (promoted)' if promote else ''}"
    )
    for key, value in trained.metrics.items():
        console.print(f"  {key}: {value}", highlight=False)


@train.command("list")
def train_list(pack_id: Annotated[str, typer.Argument(help="The pack id.")]) -> None:
    """The trained intent-model versions of a pack, and which is promoted."""
    for row in intent_service.list_versions(Settings(), pack_id):
        mark = "*" if row["promoted"] else " "
        console.print(f"{mark} {row['version']}  {row['metrics']}", highlight=False)


@train.command("promote")
def train_promote(pack_id: str, version: str) -> None:
    """Promote a trained version; a running server picks it up on POST /api/packs/{id}/reload."""
    try:
        intent_service.promote(Settings(), pack_id, version)
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    console.print(f"promoted {pack_id} intents {version}")


kb = typer.Typer(help="Knowledge: ingest documents, ask them questions.", no_args_is_help=True)
app.add_typer(kb, name="kb")


@kb.command("ingest")
def kb_ingest(
    path: Annotated[
        Path, typer.Argument(help="A pack folder (its knowledge/), or a folder or file of documents.")
    ],
    collection: Annotated[
        str | None, typer.Option(help="Collection to ingest into (default for a pack: its id).")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: PROCPILOT_DEFAULT_TENANT).")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Access label for these documents (repeatable).")
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep documents whose file is gone instead of removing them.")
    ] = False,
) -> None:
    """Ingest documents; only new and changed ones are read, chunked and embedded again."""
    from procpilot.services import knowledge as knowledge_service

    settings = Settings()
    try:
        name, root = knowledge_service.ingest_target(path, collection)
        container = build(settings, load_packs=False)
        with document_progress(name) as progress:
            report = container.knowledge.ingest_folder(
                tenant or settings.default_tenant,
                name,
                root,
                labels=tuple(label or ()),
                prune=not keep,
                progress=progress,
            )
    except ProcpilotError as error:
        err.print(f"[red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    console.print(report.summary(), highlight=False)
    for source, problem in report.failed:
        err.print(f"[yellow]skipped[/] {source}: {problem}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@kb.command("ask")
def kb_ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Annotated[str, typer.Option(help="Collection (a pack's id).")],
    tenant: Annotated[str | None, typer.Option(help="Tenant (default: PROCPILOT_DEFAULT_TENANT).")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Your access labels (repeatable).")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="hybrid, fts or vector: show the passages found that way.")
    ] = "hybrid",
) -> None:
    """Answer a question from a collection, with citations, and show the passages retrieved."""
    settings = Settings()
    try:
        container = build(settings, load_packs=False)
        tenant = tenant or settings.default_tenant
        labels = tuple(label or ())
        answer = container.knowledge.answer(tenant, collection, question, labels=labels)
        passages = container.knowledge.search(tenant, collection, question, labels=labels, mode=mode)
    except ProcpilotError as error:
        err.print(f"[red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    if answer.found:
        console.print(answer.text, highlight=False)
        for citation in answer.citations:
            console.print(
                f"[{citation.n}] {citation.label} ({citation.source})", markup=False, highlight=False
            )
    else:
        console.print("Nothing in the documents answers that.")
    console.rule(f"passages ({mode})")
    for passage in passages:
        similarity = "" if passage.similarity is None else f" similarity {passage.similarity:.2f}"
        console.print(
            f"{passage.n}. {passage.label} ({passage.source}){similarity}", markup=False, highlight=False
        )


bench = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
app.add_typer(bench, name="bench")


@bench.command("llm")
def bench_llm(
    requests: Annotated[int, typer.Option(help="Requests per concurrency level and round.")] = 12,
    max_tokens: Annotated[int, typer.Option(help="Tokens generated per request.")] = 32,
    rounds: Annotated[int, typer.Option(help="Rounds, alternating the two paths.")] = 3,
    threads: Annotated[int | None, typer.Option(help="llama.cpp threads (default: 1 on 2 cores).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Embedded model speed through procpilot and through xllamacpp directly, with the overhead ratio."""
    import json

    from procpilot.services import bench_llm as llm_bench

    report = llm_bench.run(
        requests=requests,
        max_tokens=max_tokens,
        rounds=rounds,
        threads=threads,
        progress=lambda m: err.print(f"[dim]{m}[/]"),
    )
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table(
        title=f"embedded model: {report['slots']} slots, {report['threads']} thread(s), {max_tokens} tokens"
    )
    for column in ("path", "prompt tok/s", "gen tok/s", "TTFT ms", "conc.", "req/s", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for name, entry in report["paths"].items():
        for index, (level, figures) in enumerate(entry["concurrency"].items()):
            first = index == 0
            table.add_row(
                name if first else "",
                str(entry["prompt_tokens_per_s"]) if first else "",
                str(entry["generation_tokens_per_s"]) if first else "",
                str(entry["time_to_first_token_ms"]) if first else "",
                level,
                str(figures["requests_per_s"]),
                str(figures["p50_ms"]),
                str(figures["p95_ms"]),
            )
    console.print(table)
    for level, ratio in report["ratios"].items():
        console.print(
            f"concurrency {level}: procpilot/direct p50 latency x{ratio['p50_latency']}, throughput x{ratio['throughput']}"
        )
    console.print(f"largest p50 overhead: {report['max_p50_overhead_percent']}%")


bench.command("dialogue")(bench_dialogue.dialogue)


@bench.command("api")
def bench_api(
    people: Annotated[int, typer.Option(help="People claiming an expense per round (at most 54).")] = 16,
    concurrency: Annotated[str, typer.Option(help="How many at once, comma-separated.")] = "1,4",
    rounds: Annotated[int, typer.Option(help="Rounds, alternating HTTP and in-process.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Conversation messages per second and latency over HTTP (uvicorn, sessions, CSRF) and
    in-process, with the ratio: what the HTTP layer costs."""
    import json

    from procpilot.cli import bench_api as api_bench

    levels = [int(v) for v in concurrency.split(",") if v.strip()]
    report = api_bench.run(
        Settings().packs_dir, levels, min(people, 54), rounds, progress=lambda m: err.print(f"[dim]{m}[/]")
    )
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table(
        title=f"workplace expense claims: {report['people']} people x {report['messages_per_person']} messages, {rounds} rounds"
    )
    for column in ("path", "at once", "messages", "msg/s", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for path, levels_found in report["paths"].items():
        for level, figures in levels_found.items():
            table.add_row(
                path,
                str(level),
                str(figures["messages"]),
                str(figures["messages_per_s"]),
                str(figures["p50_ms"]),
                str(figures["p95_ms"]),
            )
    console.print(table)
    ratios = ", ".join(
        f"{level} at once: {ratio}x" for level, ratio in report["http_over_in_process"].items()
    )
    console.print(f"in-process messages/s over HTTP messages/s: {ratios}", highlight=False)


@bench.command("kb")
def bench_kb(
    pack: Annotated[
        Path, typer.Argument(help="The pack folder (with knowledge/ and bench/questions.yaml).")
    ] = Path("packs/bank-help"),
    database_url: Annotated[
        str | None, typer.Option(help="Run on this database (default: a temporary SQLite).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Retrieval recall@5, MRR and queries per second: full text, vectors, and both fused."""
    import json

    from procpilot.services import bench_kb as kb_bench

    try:
        report = kb_bench.run(pack, database_url=database_url, progress=lambda m: err.print(f"[dim]{m}[/]"))
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    if json_out:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table(
        title=f"{report['pack']}: {report['questions']} questions, {report['documents']} documents, "
        f"{report['chunks']} chunks ({report['database']}, vectors by {report['vectors']})"
    )
    for column in ("retrieval", "recall@1", "recall@5", "MRR@10", "queries/s", "ms/query"):
        table.add_column(column, justify="left" if column == "retrieval" else "right")
    names = {"fts": "full text alone", "vector": "vectors alone", "hybrid": "fused (RRF)"}
    for mode, figures in report["modes"].items():
        table.add_row(
            names.get(mode, mode),
            f"{figures['recall@1']:.3f}",
            f"{figures['recall@5']:.3f}",
            f"{figures['mrr@10']:.3f}",
            f"{figures['qps']}",
            f"{figures['ms_per_query']}",
        )
    console.print(table)
    console.print(
        f"ingestion: {report['ingest_seconds']} s ({report['chunks_per_second']} chunks/s, embeddings included)"
    )
    console.print(
        f"'nothing found' said for {report['nothing_found_when_unanswerable']:.0%} of {report['unanswerable']} "
        f"unanswerable questions and {report['nothing_found_when_answerable']:.0%} of answerable ones "
        f"(similarity floor {report['min_similarity']})"
    )
    console.print(f"answers citing the labelled document: {report['answer_cites_the_right_document']:.1%}")


@bench.command("soak")
def bench_soak(
    instances: Annotated[
        int, typer.Option(help="Processes (each a conversation waiting for an approval).")
    ] = 1000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    kill_every: Annotated[float, typer.Option(help="Seconds between killing a worker with SIGKILL.")] = 6.0,
    admin_url: Annotated[
        str, typer.Option(help="PostgreSQL to create the soak database on (dropped afterwards).")
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
) -> None:
    """Durable processes through workers that keep being killed: none lost, none duplicated."""
    import json

    from procpilot.services import soak

    try:
        report = soak.run(
            instances=instances,
            workers=workers,
            kill_every=kill_every,
            admin_url=admin_url,
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    if report["lost"] or report["duplicated"]:
        raise typer.Exit(1)


@bench.command("nlu")
def bench_nlu(
    dataset: Annotated[str, typer.Option(help="banking77 or clinc150")],
    data: Annotated[Path, typer.Option(help="Folder with the data set's files.")],
    shots: Annotated[int | None, typer.Option(help="Train on N examples per intent only.")] = None,
    method: Annotated[
        str, typer.Option(help="lr (frozen encoder) or finetune (tune the encoder first).")
    ] = "lr",
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs.")] = 3,
) -> None:
    """Intent accuracy (and out-of-scope recall) on a public benchmark, as JSON."""
    import json

    from procpilot.services import bench_nlu as nlu_bench

    try:
        report = nlu_bench.run(
            dataset,
            data,
            shots=shots,
            method=method,
            epochs=epochs,
            progress=lambda m: err.print(f"[dim]{m}[/]"),
        )
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


@app.command()
def schema(kind: Annotated[str, typer.Argument(help="flow or pack")] = "flow") -> None:
    """Print the JSON Schema of flow files or of pack.yaml."""
    try:
        sys.stdout.write(pack_service.schema_json(kind))
    except ProcpilotError as error:
        err.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None


if __name__ == "__main__":  # pragma: no cover
    app()
