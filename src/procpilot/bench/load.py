"""``procpilot bench load``: a burst of conversations from many HTTP clients, on each database.

The server is a real ``procpilot serve`` process (uvicorn, the worker inside it), started on a
fresh database: a temporary SQLite folder, or a PostgreSQL database created for the run and
dropped afterwards. Clients are threads of this process, each a logged-in employee of the
workplace pack; together they hold C conversations (an expense claim: six messages, two tool
calls, an approval requested), ``clients`` messages in flight at any time. Log-ins happen before
the clock starts.

Afterwards the database is read directly: every message sent must be stored once, every
conversation must have its reply to each message and exactly one pending approval; "lost"
counts what is not.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from procpilot.bench.databases import temporary_postgres
from procpilot.bench.report import Figures, ms, percentile
from procpilot.domain.errors import UserError
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings

MESSAGES = ("I want to claim an expense", "120 euros", "travel", "yesterday", "Taxi Berlin", "yes")
PASSWORD = "bench-load-password"
READY_SECONDS = 180.0


@dataclass
class _Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise UserError(f"the server stopped while starting:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise UserError(f"the server was not ready after {READY_SECONDS:.0f} s:\n{log.read_text()[-2000:]}")


def _conversation(client: httpx.Client, outcome: _Outcome) -> None:
    conversation: str | None = None
    for text in MESSAGES:
        started = time.perf_counter()
        try:
            if conversation is None:
                response = client.post("/api/conversations", json={"pack": "workplace", "text": text})
            else:
                response = client.post(f"/api/conversations/{conversation}/messages", json={"text": text})
        except httpx.HTTPError as error:
            outcome.errors.append(f"{type(error).__name__}: {error}")
            return
        outcome.latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            outcome.errors.append(f"{response.status_code} {response.text[:200]}")
            return
        if conversation is None:
            conversation = str(response.json()["conversation_id"])
            outcome.conversations.append(conversation)


def _client_work(url: str, username: str, count: int, start: threading.Barrier) -> _Outcome:
    outcome = _Outcome()
    with httpx.Client(base_url=url, timeout=120) as client:
        login = client.post("/api/session", json={"username": username, "password": PASSWORD})
        login.raise_for_status()
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        start.wait(timeout=READY_SECONDS)  # every client logs in, then all start together
        for _ in range(count):
            _conversation(client, outcome)
    return outcome


def _count_lost(url: str, conversations: list[str]) -> dict[str, int]:
    """What the database lacks of what the clients were told happened."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                sa.text("SELECT conversation_id, role, count(*) FROM messages GROUP BY conversation_id, role")
            ).all()
            approvals: dict[str, int] = dict(
                c.execute(
                    sa.text("SELECT conversation_id, count(*) FROM approvals GROUP BY conversation_id")
                ).all()
            )
    finally:
        engine.dispose()
    counts: dict[tuple[str, str], int] = {(r[0], r[1]): int(r[2]) for r in rows}
    lost = {"messages": 0, "replies": 0, "approvals": 0, "duplicated": 0}
    for conversation in conversations:
        sent = counts.get((conversation, "user"), 0)
        lost["messages"] += max(0, len(MESSAGES) - sent)
        lost["duplicated"] += max(0, sent - len(MESSAGES))
        lost["replies"] += max(0, len(MESSAGES) - counts.get((conversation, "bot"), 0))
        lost["approvals"] += 0 if approvals.get(conversation, 0) == 1 else 1
    return lost


def _one_database(
    kind: str,
    root: Path,
    database_url: str,
    packs_dir: Path,
    conversations: int,
    clients: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    packs = root / "packs"
    packs.mkdir()
    (packs / "workplace").symlink_to((packs_dir / "workplace").resolve())
    data = root / "data"
    settings = Settings(data_dir=data, packs_dir=packs, database_url=database_url)
    container = build(settings)
    container.prepare()
    # Employees e007-e060 exist in the workplace pack; each client is one of them.
    users = [f"e{n:03d}" for n in range(7, 7 + clients)]
    for user in users:
        container.accounts.ensure_account("default", user, PASSWORD, ("agent_user",), user_id=user)
    url_db = settings.resolved_database_url()
    container.close()
    port = _free_port()
    env = {
        **os.environ,
        "PROCPILOT_DATA_DIR": str(data),
        "PROCPILOT_PACKS_DIR": str(packs),
        "PROCPILOT_DATABASE_URL": database_url,
        "PROCPILOT_LOG_JSON": "true",
    }
    log = root / "server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "procpilot.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server, log)
        share = [conversations // clients + (1 if i < conversations % clients else 0) for i in range(clients)]
        start = threading.Barrier(clients + 1)
        progress(f"{kind}: {conversations} conversations x {len(MESSAGES)} messages from {clients} clients")
        with ThreadPoolExecutor(max_workers=clients) as pool:
            futures = [
                pool.submit(_client_work, url, user, n, start) for user, n in zip(users, share, strict=True)
            ]
            start.wait(timeout=READY_SECONDS)
            started = time.perf_counter()
            outcomes = [f.result() for f in futures]
            wall = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    latencies = [t for o in outcomes for t in o.latencies]
    errors = [e for o in outcomes for e in o.errors]
    opened = [c for o in outcomes for c in o.conversations]
    lost = _count_lost(url_db, opened)
    return {
        "conversations": conversations,
        "conversations_opened": len(opened),
        "messages": len(latencies),
        "clients": clients,
        "seconds": round(wall, 1),
        "messages_per_s": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p95_ms": ms(percentile(latencies, 0.95)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(max(latencies, default=0.0)),
        "errors": len(errors),
        "first_errors": errors[:5],
        "lost": sum(lost.values()) + (conversations - len(opened)),
        "lost_detail": lost,
    }


def run(
    packs_dir: Path,
    *,
    conversations: int = 200,
    clients: int = 20,
    databases: tuple[str, ...] = ("sqlite", "postgresql"),
    admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    if not 1 <= clients <= 54:
        raise UserError("clients must be 1 to 54 (the workplace pack has 54 employees to log in as)")
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        raise UserError(f"unknown database {sorted(unknown)}: use sqlite and/or postgresql")
    report: dict[str, Any] = {"messages_per_conversation": len(MESSAGES), "databases": {}}
    for kind in databases:
        with tempfile.TemporaryDirectory(prefix=f"procpilot-load-{kind}-") as folder:
            if kind == "sqlite":
                report["databases"][kind] = _one_database(
                    kind, Path(folder), "", packs_dir, conversations, clients, progress
                )
                continue
            with temporary_postgres(admin_url, "load") as url:
                report["databases"][kind] = _one_database(
                    kind, Path(folder), url, packs_dir, conversations, clients, progress
                )
    return report


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"load: conversations of {report['messages_per_conversation']} messages over HTTP",
        [
            "database",
            "conv.",
            "clients",
            "messages",
            "msg/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "errors",
            "lost",
        ],
    )
    for kind, row in report["databases"].items():
        table.add(
            kind, row["conversations"], row["clients"], row["messages"], row["messages_per_s"], row["p50_ms"],
            row["p95_ms"], row["p99_ms"], row["max_ms"], row["errors"], row["lost"],
        )  # fmt: skip
        table.notes += [f"{kind}: {error}" for error in row["first_errors"]]
    return table
