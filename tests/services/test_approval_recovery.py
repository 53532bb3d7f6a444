"""A decision stored by a process that died before its flow got it is resumed by a worker, once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from procpilot.services.platform.container import Container
from procpilot.storage.processes import ProcessRepository
from tests.services.test_processes import environment, kill, observer, said, until, write_pack


def test_a_decision_whose_process_died_before_resuming_is_resumed_once(container: Container) -> None:
    asked = container.conversations.handle(
        tenant="default", pack_id="mini", conversation_id=None, text="I need some days off", user_id="u1"
    )
    cid = asked.conversation_id
    container.conversations.handle(
        tenant="default", pack_id="mini", conversation_id=cid, text="3", user_id="u1"
    )
    [task] = container.approvals.pending("default")
    # The decision's own transaction commits; the process is killed before the flow resumes.
    with container.database.transaction() as c:
        assert ProcessRepository(c, "default").decide(task["id"], "approved", "m1", "enjoy")
    waiting = container.conversations.history(tenant="default", conversation_id=cid)["messages"]
    assert not any("Enjoy your" in m["text"] for m in waiting)

    assert container.approvals.resume_decided(0) == 1
    after = container.conversations.history(tenant="default", conversation_id=cid)["messages"]
    assert [m["text"] for m in after].count("Enjoy your 3 days off.") == 1
    # Nothing is left to resume, and a second sweep changes nothing.
    assert container.approvals.resume_decided(0) == 0
    again = container.conversations.history(tenant="default", conversation_id=cid)["messages"]
    assert again == after
    with container.database.transaction() as c:
        assert ProcessRepository(c, "default").approval(task["id"])["resumed_at"] is not None


def test_a_decision_made_normally_is_not_resumed_again(container: Container) -> None:
    asked = container.conversations.handle(
        tenant="default", pack_id="mini", conversation_id=None, text="I need some days off", user_id="u1"
    )
    container.conversations.handle(
        tenant="default", pack_id="mini", conversation_id=asked.conversation_id, text="2", user_id="u1"
    )
    [task] = container.approvals.pending("default")
    container.approvals.decide(tenant="default", approval_id=task["id"], outcome="rejected", by="m1")
    assert container.approvals.resume_decided(0) == 0


DECIDER = """
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings

container = build(Settings())

def decide(approval_id):
    container.approvals.decide(tenant="default", approval_id=approval_id, outcome="approved", by="max")

with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(decide, sys.argv[1:]))
print("DONE", flush=True)
os._exit(0)
"""


def test_a_burst_of_decisions_cut_by_kill_9_is_resumed_and_told_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    """60 pending approvals; a process decides them 8 at a time and is killed with SIGKILL part
    way; a worker's sweep resumes every decided task; each conversation is told exactly once."""
    write_pack(tmp_path, "1h")
    env = environment(tmp_path, database_url)
    reader = observer(tmp_path, database_url)
    try:
        for index in range(60):
            for text in ("I need some days off", "3"):
                reader.conversations.handle(
                    tenant="default", pack_id="office", conversation_id=f"b{index}", text=text, user_id="emma"
                )
        tasks = reader.approvals.pending("default")
        assert len(tasks) == 60
        with (tmp_path / "decider.log").open("w") as log:
            decider = subprocess.Popen(
                [sys.executable, "-c", DECIDER, *(t["id"] for t in tasks)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

        def decided() -> int:
            return 60 - len(reader.approvals.pending("default"))

        until(lambda: decided() >= 10 or decider.poll() is not None, seconds=180)
        kill(decider)  # mid-burst: some decisions stored, some of them not yet resumed
        reader.approvals.resume_decided(0)  # what a worker's sweep does (after stalled_seconds)
        pending = {t["id"] for t in reader.approvals.pending("default")}
        for task in tasks:
            told = said(reader, task["conversation_id"]).count("Enjoy your 3 days off.")
            assert told == (0 if task["id"] in pending else 1), (task["id"], told)
        # The rest are decided normally afterwards, and everyone is told exactly once.
        for approval_id in pending:
            reader.approvals.decide(tenant="default", approval_id=approval_id, outcome="approved", by="max")
        assert reader.approvals.resume_decided(0) == 0
        for task in tasks:
            assert said(reader, task["conversation_id"]).count("Enjoy your 3 days off.") == 1
    finally:
        reader.close()
