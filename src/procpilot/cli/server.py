"""Running procpilot: ``setup`` (databases, packs, documents), ``serve`` (the HTTP API and web
app) and ``worker`` (durable processes)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from procpilot.cli.common import console, document_progress, err, fail
from procpilot.domain.errors import ProcpilotError
from procpilot.services.platform.container import build
from procpilot.services.platform.demo import DEMO_ACCOUNTS, ensure_demo_accounts, ensure_demo_queue
from procpilot.services.platform.logging import configure_logging
from procpilot.services.platform.settings import Settings


def setup(
    demo: Annotated[bool, typer.Option("--demo", help="Also create the demo logins and print them.")] = False,
    pack: Annotated[str | None, typer.Option(help="Set up this pack only.")] = None,
) -> None:
    """Create the database, load the packs, seed their business data and ingest their documents
    (safe to repeat: only new and changed documents are ingested again)."""
    started = time.perf_counter()
    with err.status("creating the database and loading the packs (their models load on first use)…"):
        container = build(Settings())
    console.print(
        f"  database ready, packs loaded: {', '.join(sorted(container.catalog.packs)) or 'none'}"
        f" ({time.perf_counter() - started:.1f} s)",
        highlight=False,
    )
    try:
        began = time.perf_counter()
        with document_progress("documents") as progress:
            prepared = container.prepare(progress, only=pack)
    except ProcpilotError as error:
        container.close()
        fail(error)
    for line in prepared:
        console.print(f"  {line}", highlight=False)
    console.print(
        f"  business data and documents ready ({time.perf_counter() - began:.1f} s)", highlight=False
    )
    if demo:
        with err.status("creating the demo logins…"):
            ensure_demo_accounts(container.accounts, container.settings.default_tenant)
            ensure_demo_queue(container.reviews, container.settings.default_tenant)
        logins = Table(
            title=f"demo logins (tenant {container.settings.default_tenant})", title_justify="left"
        )
        for column in ("login", "password", "who", "try"):
            logins.add_column(column, overflow="fold")
        for username, password, _, name, _, what in DEMO_ACCOUNTS:
            logins.add_row(username, password, name, what)
        console.print(logins)
    for name, problem in container.catalog.errors.items():
        err.print(f"[yellow]refused pack {name}[/]: {problem}", highlight=False)
    container.close()


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

    from procpilot.services.platform.container import default_worker_id
    from procpilot.services.processes.workers import Worker

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
