"""``procpilot``: the command line. One module per command group; each talks to services only.

packs.py   init, validate, test, schema        server.py  setup, serve, worker
chat.py    chat (the terminal assistant)       users.py   users add, users key
train.py   train intents, llm, resume, jobs     kb.py      kb ingest, kb ask
models.py  models list, show, promote, reject, rollback
data.py    data queue, build, list, diff, export, delete
bench.py   bench dialogue, load, redaction, api, llm, kb, soak, nlu
"""

from __future__ import annotations

from typing import Annotated

import typer

from procpilot.cli import chat, data, kb, models, packs, server, train, users
from procpilot.cli.bench import bench
from procpilot.services.platform.logging import configure_logging

app = typer.Typer(help="procpilot: business processes carried out in conversation.", no_args_is_help=True)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show log lines.")] = False) -> None:
    configure_logging(level="INFO" if verbose else "WARNING")


for command in (packs.init, packs.validate, packs.test, chat.chat, server.setup, server.serve, server.worker,
                packs.schema):  # fmt: skip
    app.command()(command)
app.add_typer(users.users, name="users")
app.add_typer(train.train, name="train")
app.add_typer(models.models, name="models")
app.add_typer(kb.kb, name="kb")
app.add_typer(data.data, name="data")
app.add_typer(bench, name="bench")


if __name__ == "__main__":  # pragma: no cover
    app()
