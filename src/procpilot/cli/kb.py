"""``procpilot kb``: ingest documents, ask them questions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from procpilot.cli.common import console, document_progress, err, fail
from procpilot.domain.errors import ProcpilotError
from procpilot.services import knowledge as knowledge_service
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings

kb = typer.Typer(help="Knowledge: ingest documents, ask them questions.", no_args_is_help=True)


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
        fail(error)
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
        str, typer.Option(help="hybrid (re-ranked), fts, vector or rrf: show the passages found that way.")
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
        fail(error)
    if answer.found:
        console.print(answer.text, highlight=False)
        for citation in answer.citations:
            console.print(
                f"[{citation.n}] {citation.label} ({citation.source})", markup=False, highlight=False
            )
    elif answer.choices:
        console.print("Several documents fit; ask again naming one of them:", highlight=False)
        for _, title in answer.choices:
            console.print(f"  - {title}", markup=False, highlight=False)
    elif answer.restricted:
        console.print("Only documents you may not read answer that.")
    else:
        console.print("Nothing in the documents answers that.")
    console.rule(f"passages ({mode})")
    for passage in passages:
        similarity = "" if passage.similarity is None else f" similarity {passage.similarity:.2f}"
        console.print(
            f"{passage.n}. {passage.label} ({passage.source}){similarity}", markup=False, highlight=False
        )
