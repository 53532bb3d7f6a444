"""A decision stored by a process that died before its flow got it is resumed by a worker, once."""

from __future__ import annotations

from procpilot.services.container import Container
from procpilot.storage.processes import ProcessRepository


def test_a_decision_whose_process_died_before_resuming_is_resumed_once(container: Container) -> None:
    asked = container.conversations.handle(
        tenant="default", pack_id="mini", conversation_id=None, text="I need some days off", user_id="u1"
    )
    cid = asked.conversation_id
    container.conversations.handle(tenant="default", pack_id="mini", conversation_id=cid, text="3", user_id="u1")
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
