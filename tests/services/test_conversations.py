"""Conversations through the services: real engine, real tools, real databases."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from procpilot.domain.errors import StateConflict, UserError
from procpilot.engine import Effect, Outcome
from procpilot.services.conversations.messages import ConversationService
from procpilot.services.platform.container import Container
from procpilot.services.processes.runtime import EffectContext, InlineRuntime
from procpilot.tools.runner import ToolRunner


def talk(
    container: Container, *lines: str, conversation: str = "c1", tenant: str = "default", **kw: Any
) -> str:
    text = ""
    for line in lines:
        reply = container.conversations.handle(
            tenant=tenant, pack_id="mini", conversation_id=conversation, text=line, **kw
        )
        text = reply.text
    return text


def business(container: Container, sql: str, tenant: str = "default") -> list[tuple[Any, ...]]:
    path = container.settings.data_dir / "business" / tenant / "mini.sqlite"
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_a_broken_pack_is_refused_and_the_others_are_served(container: Container) -> None:
    assert set(container.catalog.packs) == {"mini", "mini2"}
    [refused] = [p for p in container.catalog.summary() if p["status"] == "refused"]
    assert refused["id"] == "broken" and "undeclared slot 'nothing'" in refused["problems"][0]
    with pytest.raises(UserError, match="failed validation"):
        container.conversations.handle(tenant="default", pack_id="broken", conversation_id=None, text="hi")


def test_a_transfer_changes_the_business_database_once(container: Container) -> None:
    said = talk(container, "send money to a friend", "Alice", "20 dollars", "tomorrow", "yes")
    assert said.startswith("Sent. Reference")
    assert business(container, "SELECT recipient, amount FROM transfers") == [("Alice", 20.0)]
    assert business(container, "SELECT balance FROM accounts WHERE name = 'me'") == [(480.0,)]
    calls = container.conversations.tool_calls(tenant="default", conversation_id="c1")
    assert [(c["tool"], c["status"]) for c in calls] == [("send_money", "ok")]


class CrashAfterEffect(InlineRuntime):
    """Performs the effect, then dies before the result is recorded, like a killed process would."""

    def perform(self, effect: Effect, runner: ToolRunner, ctx: EffectContext) -> Outcome:
        super().perform(effect, runner, ctx)
        raise KeyboardInterrupt("process killed")


def test_after_a_crash_between_the_write_and_the_checkpoint_the_write_is_not_repeated(
    container: Container,
) -> None:
    talk(container, "send money to a friend", "Alice", "20 dollars", "tomorrow")
    crashing = ConversationService(
        container.database, container.catalog, container.workspace, CrashAfterEffect(container.database), {}
    )
    with pytest.raises(KeyboardInterrupt):
        crashing.handle(tenant="default", pack_id="mini", conversation_id="c1", text="yes")
    assert business(container, "SELECT count(*) FROM transfers") == [(1,)]
    # The restarted service finishes the outstanding call first: replayed, not repeated.
    said = talk(container, "what is my balance")
    assert "Sent. Reference" in said and "Your balance is $480.00." in said
    assert business(container, "SELECT count(*) FROM transfers") == [(1,)]


def test_a_tool_that_fails_mid_write_leaves_nothing_behind(container: Container) -> None:
    said = talk(container, "send money to a friend", "crash", "20", "tomorrow", "yes")
    assert said == "The transfer failed: send_money is not working right now."
    assert business(container, "SELECT count(*) FROM transfers") == [(0,)]
    assert business(container, "SELECT balance FROM accounts WHERE name = 'me'") == [(500.0,)]
    events = container.conversations.events(tenant="default", conversation_id="c1")
    [failed] = [e for e in events if e["kind"] == "tool.failed"]
    assert "RuntimeError: the core banking system fell over" in failed["data"]["detail"]


def test_a_tool_that_times_out_is_rolled_back_and_explained(container: Container) -> None:
    said = talk(container, "run the slow job")
    assert "something went wrong" in said and "Nothing was changed" in said
    assert business(container, "SELECT count(*) FROM transfers") == [(0,)]
    [call] = container.conversations.tool_calls(tenant="default", conversation_id="c1")
    assert call["status"] == "timeout"


def test_a_flaky_tool_is_retried_with_the_same_key(container: Container) -> None:
    assert talk(container, "run the flaky job") == "flaky said finally"
    calls = container.conversations.tool_calls(tenant="default", conversation_id="c1")
    assert [c["status"] for c in calls] == ["error", "error", "ok"]
    assert len({c["key"] for c in calls}) == 1


def test_approval_four_eyes_and_a_single_decision(container: Container) -> None:
    said = talk(container, "I need some days off", "3", user_id="emma", roles=["employee"])
    assert "for approval" in said
    [task] = container.approvals.pending("default")
    assert task["requester"] == "emma" and task["role"] == "manager" and task["summary"] == "3 days of leave"
    with pytest.raises(UserError, match="four-eyes"):
        container.approvals.decide(tenant="default", approval_id=task["id"], outcome="approved", by="emma")
    reply = container.approvals.decide(tenant="default", approval_id=task["id"], outcome="approved", by="max")
    assert "approved" in reply.text and "Enjoy your 3 days off." in reply.text
    with pytest.raises(StateConflict, match="already decided"):
        container.approvals.decide(tenant="default", approval_id=task["id"], outcome="rejected", by="max")
    history = container.conversations.history(tenant="default", conversation_id="c1")
    assert history["messages"][-1]["text"] == "Enjoy your 3 days off."


def test_asking_for_changes_needs_a_comment_and_the_requester_reads_it(container: Container) -> None:
    talk(container, "I need some days off", "3", user_id="emma", roles=["employee"])
    [task] = container.approvals.pending("default")
    with pytest.raises(UserError, match="needs a comment"):
        container.approvals.decide(
            tenant="default", approval_id=task["id"], outcome="changes_requested", by="max"
        )
    assert container.approvals.pending("default") != []  # nothing was decided
    reply = container.approvals.decide(
        tenant="default",
        approval_id=task["id"],
        outcome="changes_requested",
        by="max",
        comment="two days, not three",
    )
    assert "two days, not three" in reply.text


def test_tenants_are_isolated(container: Container) -> None:
    talk(container, "what is my balance", conversation="shared-id", tenant="default")
    with pytest.raises(UserError, match="no conversation"):
        container.conversations.history(tenant="other", conversation_id="shared-id")
    assert container.approvals.pending("other") == []


def test_an_unknown_tenant_is_a_clear_error(container: Container) -> None:
    with pytest.raises(UserError, match="no tenant 'nobody'"):
        talk(container, "hello", tenant="nobody")


def test_oversized_messages_are_refused_before_anything_is_stored(container: Container) -> None:
    with pytest.raises(UserError, match="at most 4000"):
        container.conversations.handle(
            tenant="default", pack_id="mini", conversation_id="big", text="x" * 5000
        )
    with pytest.raises(UserError):
        container.conversations.history(tenant="default", conversation_id="big")


def test_a_conversation_stays_with_its_pack(container: Container, packs_dir: Path) -> None:
    talk(container, "hello")
    with pytest.raises(UserError, match="belongs to pack 'mini'"):
        container.conversations.handle(tenant="default", pack_id="mini2", conversation_id="c1", text="hi")


def test_messages_refused_as_concurrent_leave_no_trace(container: Container) -> None:
    """Ten messages at once to one conversation: those refused with a conflict are not stored,
    and a retry after the conflict is stored once."""
    first = container.conversations.handle(
        tenant="default", pack_id="mini", conversation_id=None, text="send money to a friend"
    )
    cid = first.conversation_id

    def send(number: int) -> bool:
        try:
            container.conversations.handle(
                tenant="default", pack_id="mini", conversation_id=cid, text=f"message {number}"
            )
        except StateConflict:
            return False
        return True

    with ThreadPoolExecutor(max_workers=10) as pool:
        accepted = sum(pool.map(send, range(10)))
    stored = [
        m["text"]
        for m in container.conversations.history(tenant="default", conversation_id=cid)["messages"]
        if m["role"] == "user"
    ]
    assert accepted >= 1
    assert len(stored) == 1 + accepted  # the opening message, and only the accepted ones
    assert send(99) is True
    again = container.conversations.history(tenant="default", conversation_id=cid)["messages"]
    assert [m["text"] for m in again if m["role"] == "user"].count("message 99") == 1
