"""The human agent's desk through the services, on SQLite and PostgreSQL: a handoff queues the
conversation with what the assistant understood; an agent takes it, replies, starts a flow for
the person or hands back; the waits reach /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from procpilot.domain.access import Principal
from procpilot.domain.errors import NotFound, PermissionDenied, StateConflict
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings

TENANT = "default"
SAM = Principal(TENANT, "sam", ("agent",), name="Sam Support")
KIM = Principal(TENANT, "kim", ("agent",), name="Kim")
OLGA = Principal(TENANT, "olga", ("agent_user",), name="Olga")


@pytest.fixture
def desk(tmp_path: Path, packs_dir: Path, database_url: str) -> Iterator[Container]:
    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir, database_url=database_url))
    yield c
    c.close()


def say(c: Container, text: str, conversation: str = "c1") -> str:
    return c.chats.send(OLGA, text=text, pack_id="mini", conversation_id=conversation).text


def messages(c: Container, conversation: str = "c1") -> list[tuple[str, str]]:
    return [(m["role"], m["text"]) for m in c.chats.history(OLGA, conversation)["messages"]]


def test_a_handoff_waits_for_an_agent_who_takes_replies_and_hands_back(desk: Container) -> None:
    say(desk, "I want to send money to a friend")
    say(desk, "Bob")
    say(desk, "can I talk to a real person")
    (waiting,) = desk.handoffs.queue(SAM)
    assert waiting["status"] == "waiting" and waiting["person"] == "olga"
    (request,) = waiting["understood"]["requests"]
    assert request["title"] == "send money"
    assert {"slot": "recipient", "title": "recipient", "value": "Bob"} in request["slots"]
    assert waiting["title"] == "I want to send money to a friend"

    # While nobody has it, the person is told where they are; the assistant does not answer.
    assert "number 1 in the queue" in say(desk, "hello? anyone?")
    with pytest.raises(PermissionDenied):
        desk.handoffs.queue(OLGA)
    with pytest.raises(StateConflict):
        desk.handoffs.reply(SAM, waiting["id"], "too early: not taken")

    desk.handoffs.take(SAM, waiting["id"])
    with pytest.raises(StateConflict):
        desk.handoffs.take(KIM, waiting["id"])  # one agent per conversation
    assert messages(desk)[-1] == ("agent", "Sam Support from our team has taken over this conversation.")
    desk.handoffs.reply(SAM, waiting["id"], "Hi Olga, I can help. Who is the money for?")
    with pytest.raises(PermissionDenied):
        desk.handoffs.reply(KIM, waiting["id"], "not mine to answer")
    assert say(desk, "it is for Bob, 20 dollars") == ""  # kept for Sam, no bot reply
    seen = desk.handoffs.view(SAM, waiting["id"])
    assert [m["role"] for m in seen["messages"]][-3:] == ["agent", "agent", "user"]
    assert seen["messages"][-2]["by_name"] == "Sam Support"

    desk.handoffs.hand_back(SAM, waiting["id"])
    assert desk.handoffs.queue(SAM) == []
    assert "handed you back to the assistant" in messages(desk)[-1][1]
    assert "Who should receive the money?" in say(desk, "send money to a friend")  # the assistant again

    metrics = desk.metrics.render().decode()
    assert 'procpilot_handoff_wait_seconds_count{tenant="default"} 1.0' in metrics
    assert 'procpilot_handoffs_waiting{tenant="default"}' not in metrics


def test_an_agent_starts_a_flow_for_the_person_and_the_assistant_runs_it(desk: Container) -> None:
    say(desk, "I need a human")
    (waiting,) = desk.handoffs.queue(SAM)
    metrics = desk.metrics.render().decode()
    assert 'procpilot_handoffs_waiting{tenant="default"} 1.0' in metrics
    assert "procpilot_handoff_oldest_wait_seconds" in metrics
    with pytest.raises(StateConflict):
        desk.handoffs.start_flow(SAM, waiting["id"], "transfer_money")  # take it first
    desk.handoffs.take(SAM, waiting["id"])
    with pytest.raises(NotFound):
        desk.handoffs.start_flow(SAM, waiting["id"], "pattern_cancel")
    reply = desk.handoffs.start_flow(SAM, waiting["id"], "transfer_money")
    assert "Who should receive the money?" in reply.text
    assert "How much?" in say(desk, "Bob")
    with pytest.raises(StateConflict):
        desk.handoffs.close(SAM, waiting["id"])  # already back with the assistant


def test_the_person_may_leave_the_queue_and_an_agent_may_close(desk: Container) -> None:
    say(desk, "let me speak to an agent")
    assert "back with the assistant" in say(desk, "cancel")
    assert desk.handoffs.queue(SAM) == []
    say(desk, "let me speak to an agent", conversation="c2")
    (waiting,) = desk.handoffs.queue(SAM)
    desk.handoffs.take(SAM, waiting["id"])
    desk.handoffs.close(SAM, waiting["id"])
    assert "closed this conversation" in messages(desk, "c2")[-1][1]
    with pytest.raises(NotFound):
        desk.handoffs.view(SAM, "h_nothing")
