"""Time in flows on the process engine (DBOS), on SQLite and PostgreSQL: wait steps, delayed tool
retries against a real HTTP server, escalation from one deadline to the next, scheduled flows run
once by two worker processes."""

from __future__ import annotations

import http.server
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.tables import conversations
from tests.services.test_processes import (
    environment,
    kill,
    observer,
    start_worker,
    until,
)

PACK = """id: clinic
name: Clinic
version: "1"
tools:
  http:
    book:
      method: POST
      url: "URL/book"
      writes: true
      response: {ref: response.ref}
"""
SCHEDULES = """schedules:
  - flow: tick
    cron: "* * * * * *"
"""
FLOWS = """flows:
  - id: remind
    name: reminder
    examples: [remind me]
    steps:
      - respond: Okay, I will remind you.
      - wait: WAIT
      - respond: Time is up.
  - id: booking
    name: booking
    examples: [book it]
    slots:
      booked: {type: text, description: the booking}
    steps:
      - call: book
        result: booked
        retries: 2
        retry_delay: 1s
        on_error: failed
      - respond: "Booked {{ slots.booked.ref }}."
        next: END
      - id: failed
        respond: The booking system is down; please call us.
  - id: leave
    name: leave
    examples: [I need leave]
    steps:
      - approval: {role: manager, summary: leave, timeout: 1s}
        on_timeout: hr
        next: granted
      - id: hr
        approval: {role: hr, summary: leave (escalated), timeout: 1s}
        on_timeout: gone
      - id: granted
        respond: Leave granted.
        next: END
      - id: gone
        respond: Nobody decided, not even HR.
  - id: tick
    name: tick
    steps:
      - respond: tick
"""


class Booking(http.server.BaseHTTPRequestHandler):
    failures: list[int]
    keys: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.keys.append(self.headers.get("Idempotency-Key", ""))
        if self.failures:
            self.failures.pop()
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"ref": "B-7"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def booking() -> Iterator[tuple[str, list[int], list[str]]]:
    failures: list[int] = []
    keys: list[str] = []
    handler = type("B", (Booking,), {"failures": failures, "keys": keys})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", failures, keys
    server.shutdown()
    server.server_close()


def write_pack(
    root: Path, url: str = "http://127.0.0.1:9", wait: str = "2s", schedules: bool = False
) -> None:
    pack = root / "packs" / "clinic"
    (pack / "flows").mkdir(parents=True, exist_ok=True)
    (pack / "pack.yaml").write_text(PACK.replace("URL", url) + (SCHEDULES if schedules else ""))
    (pack / "flows" / "all.yaml").write_text(FLOWS.replace("WAIT", wait))


def make(tmp_path: Path, database_url: str, **pack: Any) -> Container:
    write_pack(tmp_path, **pack)
    settings = Settings(data_dir=tmp_path / "data", packs_dir=tmp_path / "packs", database_url=database_url)
    return build(settings)


def say(container: Container, text: str, conversation: str = "c1") -> list[str]:
    reply = container.conversations.handle(
        tenant="default", pack_id="clinic", conversation_id=conversation, text=text, user_id="emma"
    )
    return [m["text"] for m in reply.messages]


def said(container: Container, conversation: str = "c1") -> list[str]:
    history = container.conversations.history(tenant="default", conversation_id=conversation)
    return [m["text"] for m in history["messages"] if m["role"] == "bot"]


def test_a_wait_step_goes_on_by_itself_when_its_time_has_passed(tmp_path: Path, database_url: str) -> None:
    container = make(tmp_path, database_url)
    try:
        container.start_processes("w-test")
        assert say(container, "remind me") == ["Okay, I will remind you."]
        [timer] = container.timers.pending("default", "c1")
        assert timer["purpose"] == "wait"
        time.sleep(1)
        assert "Time is up." not in said(container)
        until(lambda: "Time is up." in said(container))
        assert said(container).count("Time is up.") == 1
        assert container.timers.pending("default", "c1") == []
    finally:
        container.close()


def test_a_wait_set_while_no_worker_ran_fires_when_one_comes(tmp_path: Path, database_url: str) -> None:
    write_pack(tmp_path, wait="1s")
    env = environment(tmp_path, database_url, PROCPILOT_LEASE_SECONDS="1")
    reader = observer(tmp_path, database_url)
    worker = None
    try:
        assert say(reader, "remind me") == ["Okay, I will remind you."]  # no worker: nobody watches
        time.sleep(3)
        assert "Time is up." not in said(reader)
        worker = start_worker(tmp_path, env, "w-late")
        until(lambda: "Time is up." in said(reader), seconds=120)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        reader.close()


def test_a_failing_call_is_retried_later_and_the_person_hears_how_it_went(
    tmp_path: Path, database_url: str, booking: tuple[str, list[int], list[str]]
) -> None:
    url, failures, keys = booking
    failures += [1, 1]  # down twice, then up
    container = make(tmp_path, database_url, url=url)
    try:
        container.start_processes("w-test")
        first = say(container, "book it")
        assert first == [
            "The system for booking is not answering. I'll try again in 1 second and tell you here how it went."
        ]
        until(lambda: "Booked B-7." in said(container))
        assert len(keys) == 3 and len(set(keys)) == 1  # one idempotency key across the attempts
        calls = container.conversations.tool_calls(tenant="default", conversation_id="c1")
        assert [(c["attempt"], c["status"]) for c in calls] == [(1, "error"), (2, "error"), (3, "ok")]
    finally:
        container.close()


def test_a_call_that_keeps_failing_takes_the_error_branch(
    tmp_path: Path, database_url: str, booking: tuple[str, list[int], list[str]]
) -> None:
    url, failures, keys = booking
    failures += [1, 1, 1]
    container = make(tmp_path, database_url, url=url)
    try:
        container.start_processes("w-test")
        say(container, "book it")
        until(lambda: "The booking system is down; please call us." in said(container))
        assert len(keys) == 3  # the first attempt and two retries, 1 s then 2 s later
    finally:
        container.close()


def test_a_deadline_escalates_to_another_deadline(tmp_path: Path, database_url: str) -> None:
    """The first expiry runs inside a process step and starts the second deadline's process."""
    container = make(tmp_path, database_url)
    try:
        container.start_processes("w-test")
        say(container, "I need leave")
        until(lambda: "Nobody decided, not even HR." in said(container))
        with container.database.transaction() as c:
            events = ConversationRepository(c, "default").events("c1")
        decided = [e["data"]["outcome"] for e in events if e["kind"] == "approval.decided"]
        assert decided == ["timeout", "timeout"]
    finally:
        container.close()


def test_two_workers_run_each_scheduled_time_once(tmp_path: Path, database_url: str) -> None:
    write_pack(tmp_path, schedules=True)
    env = environment(tmp_path, database_url)
    reader = observer(tmp_path, database_url)
    workers = [start_worker(tmp_path, env, name) for name in ("wS1", "wS2")]

    def runs() -> dict[str, list[str]]:
        with reader.database.transaction() as c:
            rows = c.execute(
                sa.select(conversations.c.id).where(conversations.c.channel == "schedule").order_by("id")
            )
            ids = [r.id for r in rows]
        return {i: said(reader, i) for i in ids}

    try:
        # However busy the machine: wait until both workers run the schedule and three runs are in.
        until(lambda: len([r for r in runs().values() if r]) >= 3, seconds=120)
    finally:
        for worker in workers:
            kill(worker)
    found = runs()
    reader.close()
    # a run for (nearly) every second both workers were up, each run once: a run started by both
    # workers would have said "tick" twice in its conversation
    assert len(found) >= 3, found
    # a run still starting when the workers were killed may have said nothing yet; none twice
    assert all(messages in (["tick"], []) for messages in found.values()), found
