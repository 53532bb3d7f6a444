"""Durable processes on DBOS, on SQLite and PostgreSQL: approval deadlines, webhooks, workers.

The fault tests run real worker processes and kill them with SIGKILL.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from procpilot.domain.errors import StateConflict
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from tests.conftest import ROOT

PACK = """id: office
name: Office
version: "1"
"""
FLOWS = """flows:
  - id: leave
    name: request leave
    description: Ask for days off.
    examples: [I need some days off, request leave]
    slots:
      days: {type: integer, description: number of days}
    steps:
      - collect: days
        prompt: How many days?
      - approval:
          role: manager
          summary: "{{ slots.days }} days of leave"
          timeout: TIMEOUT
        result: decision
        on_timeout: expired
      - respond: "Enjoy your {{ slots.days }} days off."
        next: END
      - id: expired
        respond: "No decision came in time for your {{ slots.days }} days: please ask again."
"""
EXPIRED = "No decision came in time"


def write_pack(root: Path, timeout: str) -> Path:
    pack = root / "packs" / "office"
    (pack / "flows").mkdir(parents=True)
    (pack / "pack.yaml").write_text(PACK)
    (pack / "flows" / "leave.yaml").write_text(FLOWS.replace("TIMEOUT", timeout))
    return root / "packs"


class Hooks(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    failures: list[int]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.failures:  # the first answers are errors: the post must be retried
            self.failures.pop()
            self.send_response(503)
        else:
            self.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("H", (Hooks,), {"received": received, "failures": [1]})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()
    server.server_close()


def until(check: Callable[[], Any], seconds: float = 90.0) -> Any:
    """Wait for ``check`` to hold, with a deadline generous enough for a busy machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


def make(tmp_path: Path, database_url: str, timeout: str, **settings: Any) -> Container:
    packs = write_pack(tmp_path, timeout)
    return build(Settings(data_dir=tmp_path / "data", packs_dir=packs, database_url=database_url, **settings))


def ask_for_leave(container: Container, conversation: str = "c1") -> str:
    for text in ("I need some days off", "3"):
        container.conversations.handle(
            tenant="default", pack_id="office", conversation_id=conversation, text=text, user_id="emma"
        )
    [task] = container.approvals.pending("default")
    return str(task["id"])


def said(container: Container, conversation: str = "c1") -> list[str]:
    history = container.conversations.history(tenant="default", conversation_id=conversation)
    return [m["text"] for m in history["messages"] if m["role"] == "bot"]


def test_an_approval_nobody_decides_expires_and_the_requester_is_told(
    tmp_path: Path, database_url: str, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    container = make(tmp_path, database_url, "2s", webhook_url=url)
    try:
        container.start_processes("w-test")
        approval = ask_for_leave(container)
        assert container.engine is not None
        until(lambda: container.engine.status(f"approval:default:{approval}") == "waiting")
        messages = until(lambda: [m for m in said(container) if EXPIRED in m])
        assert messages == ["No decision came in time for your 3 days: please ask again."]
        assert container.approvals.pending("default") == []
        # the webhook answered 503 once; the event arrived all the same, once
        event = until(lambda: [e for e in received if e["event"] == "approval.expired"])
        assert event == [
            {
                "event": "approval.expired",
                "tenant": "default",
                "approval_id": approval,
                "outcome": "timeout",
                "by": None,
            }
        ]
        with pytest.raises(StateConflict):
            container.approvals.decide(tenant="default", approval_id=approval, outcome="approved", by="max")
    finally:
        container.close()


def test_a_decision_before_the_deadline_stops_it(
    tmp_path: Path, database_url: str, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    container = make(tmp_path, database_url, "3s", webhook_url=url)
    try:
        engine = container.start_processes("w-test")
        approval = ask_for_leave(container)
        reply = container.approvals.decide(
            tenant="default", approval_id=approval, outcome="approved", by="max"
        )
        assert "Enjoy your 3 days off." in reply.text
        key = f"approval:default:{approval}"
        until(lambda: engine.outcome(key) == "SUCCESS")
        assert engine.status(key) == "decided"
        time.sleep(3.5)  # past the deadline: nothing more happens
        assert not [m for m in said(container) if EXPIRED in m]
        assert until(lambda: received)[0]["event"] == "approval.decided"
    finally:
        container.close()


def test_two_concurrent_decisions_one_wins_the_other_gets_a_conflict(
    tmp_path: Path, database_url: str
) -> None:
    container = make(tmp_path, database_url, "1h")
    try:
        approval = ask_for_leave(container)
        barrier = threading.Barrier(2)

        def decide(by: str, outcome: str) -> str:
            barrier.wait()
            try:
                container.approvals.decide(tenant="default", approval_id=approval, outcome=outcome, by=by)
            except StateConflict as error:
                return f"conflict: {error}"
            return "won"

        with ThreadPoolExecutor(2) as pool:
            results = sorted(pool.map(decide, ["max", "lena"], ["approved", "rejected"]))
        assert results[0].startswith("conflict: approval") and "already decided" in results[0]
        assert results[1] == "won"
        assert sum("Enjoy your" in m or "rejected" in m.lower() for m in said(container)) == 1
    finally:
        container.close()


# -- faults: real worker processes, killed with SIGKILL --------------------------------------------

REQUESTER = """
import sys, time
from pathlib import Path
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings
from procpilot.services.processes.workers import Worker

container = build(Settings())
worker = Worker(container, sys.argv[1])
worker.start()
for text in ("I need some days off", "3"):
    container.conversations.handle(tenant="default", pack_id="office", conversation_id="c1", text=text, user_id="emma")
print("WAITING", flush=True)
time.sleep(600)
"""


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PROCPILOT_DATA_DIR": str(tmp_path / "data"),
        "PROCPILOT_PACKS_DIR": str(tmp_path / "packs"),
        "PROCPILOT_DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT / "src"),
        **extra,
    }
    return env


def start_requester(tmp_path: Path, env: dict[str, str], worker_id: str) -> subprocess.Popen[str]:
    """A worker process that asks for leave and then waits (its log goes to a file)."""
    with (tmp_path / f"{worker_id}.log").open("w") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-c", REQUESTER, worker_id],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert process.stdout is not None
    for line in process.stdout:  # DBOS logs to stdout too; the script's line comes after
        if line.strip() == "WAITING":
            return process
    process.wait()
    raise AssertionError((tmp_path / f"{worker_id}.log").read_text())


def start_worker(tmp_path: Path, env: dict[str, str], worker_id: str) -> subprocess.Popen[str]:
    with (tmp_path / f"{worker_id}-worker.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "procpilot.cli.main", "worker", "--worker-id", worker_id],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def observer(tmp_path: Path, database_url: str) -> Container:
    """A container in the test process without a worker: it only reads."""
    return build(
        Settings(data_dir=tmp_path / "data", packs_dir=tmp_path / "packs", database_url=database_url)
    )


def test_a_deadline_that_falls_due_while_everything_is_down_fires_after_the_restart(
    tmp_path: Path, database_url: str
) -> None:
    write_pack(tmp_path, "3s")
    env = environment(tmp_path, database_url)
    requester = start_requester(tmp_path, env, "w1")
    kill(requester)
    time.sleep(4)  # the deadline passes while no process runs
    restarted = start_worker(tmp_path, env, "w1")
    reader = observer(tmp_path, database_url)
    try:
        messages = until(lambda: [m for m in said(reader) if EXPIRED in m])
        assert len(messages) == 1 and reader.approvals.pending("default") == []
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
        reader.close()


def test_a_killed_workers_deadline_is_taken_over_by_another_worker(tmp_path: Path, database_url: str) -> None:
    write_pack(tmp_path, "8s")
    env = environment(tmp_path, database_url, PROCPILOT_LEASE_SECONDS="2")
    requester = start_requester(tmp_path, env, "wA")
    other = start_worker(tmp_path, env, "wB")
    reader = observer(tmp_path, database_url)
    try:
        time.sleep(3)  # wB is up and sees wA alive: nothing is taken over while wA beats
        assert not [m for m in said(reader) if EXPIRED in m]
        kill(requester)
        messages = until(lambda: [m for m in said(reader) if EXPIRED in m], seconds=120)
        time.sleep(1)
        assert len(messages) == 1 and len([m for m in said(reader) if EXPIRED in m]) == 1
        assert reader.approvals.pending("default") == []
    finally:
        other.send_signal(signal.SIGTERM)
        other.wait(timeout=30)
        reader.close()


SENDER = """
import sys
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings

container = build(Settings())
for text in sys.argv[1:]:
    reply = container.conversations.handle(tenant="default", pack_id="mini", conversation_id="m1", text=text)
    print("BOT:", reply.text.replace("\\n", " "), flush=True)
"""


def test_a_process_killed_between_a_write_and_its_checkpoint_writes_once(
    tmp_path: Path, database_url: str
) -> None:
    """SIGKILL right after send_money's transaction committed, before the conversation was saved.
    A worker finds the conversation stalled and finishes it from the idempotency record, without
    any new message: one transfer, not two, and the person is told."""
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini").symlink_to(ROOT / "tests" / "fixtures" / "packs" / "mini")
    env = {**environment(tmp_path, database_url), "PROCPILOT_PACKS_DIR": str(packs)}
    lines = ["send money to a friend", "Alice", "20 dollars", "tomorrow", "yes"]
    crashed = subprocess.run(
        [sys.executable, "-c", SENDER, *lines],
        env={**env, "PROCPILOT_FAILPOINT": "after_tool_commit"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert "Send $20.00 to Alice" in crashed.stdout and "Sent." not in crashed.stdout
    business = tmp_path / "data" / "business" / "default" / "mini.sqlite"
    with sqlite3.connect(business) as db:
        assert db.execute("SELECT count(*) FROM transfers").fetchone() == (1,)
    worker = start_worker(
        tmp_path, {**env, "PROCPILOT_STALLED_SECONDS": "1", "PROCPILOT_LEASE_SECONDS": "2"}, "wf"
    )
    reader = build(Settings(data_dir=tmp_path / "data", packs_dir=packs, database_url=database_url))
    try:
        history = until(
            lambda: [
                m["text"]
                for m in reader.conversations.history(tenant="default", conversation_id="m1")["messages"]
                if m["text"].startswith("Sent. Reference")
            ]
        )
        assert len(history) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        reader.close()
    with sqlite3.connect(business) as db:
        assert db.execute("SELECT recipient, amount FROM transfers").fetchall() == [("Alice", 20.0)]
        assert db.execute("SELECT balance FROM accounts WHERE name = 'me'").fetchone() == (480.0,)
    replayed = subprocess.run(
        [sys.executable, "-c", SENDER, "thanks"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    with sqlite3.connect(business) as db:
        assert db.execute("SELECT count(*) FROM transfers").fetchone() == (1,)
