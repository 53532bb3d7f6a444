"""Notes and recall: what a person said for their request fills slots before they are asked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from procpilot.domain.commands import StartFlow
from procpilot.domain.slots import Option, SlotDef
from procpilot.domain.state import DialogueState
from procpilot.engine import ApprovalRequest, DialogueEngine, ToolCall, ToolResult


def days_said(
    slot: SlotDef, options: tuple[Option, ...], notes: Sequence[str], labels: Mapping[str, str]
) -> Any:
    """A scripted recall: "three" in any note is 3 days."""
    if slot.name == "days" and any("three" in n for n in notes):
        return 3
    return None


def test_a_fact_in_the_opening_message_is_not_asked_for(mini_loaded: Any) -> None:
    engine = DialogueEngine(mini_loaded.pack, recall=days_said)
    turn = engine.handle(DialogueState(), [StartFlow("leave")], "I need three days off")
    assert isinstance(turn.effect, ApprovalRequest)
    assert "How many days?" not in [m["text"] for m in turn.messages]
    recalled = [e.data for e in turn.events if e.kind == "slot.set" and e.data.get("how") == "recalled"]
    assert recalled == [{"flow": "leave", "frame": "f1", "slot": "days", "value": 3, "how": "recalled"}]


def test_without_the_fact_the_question_is_asked(mini_loaded: Any) -> None:
    engine = DialogueEngine(mini_loaded.pack, recall=days_said)
    turn = engine.handle(DialogueState(), [StartFlow("leave")], "I need some days off")
    assert [m["text"] for m in turn.messages] == ["How many days?"]
    assert turn.state.notes == ["I need some days off"]


def test_notes_end_with_the_request(mini_loaded: Any) -> None:
    engine = DialogueEngine(mini_loaded.pack, recall=days_said)
    turn = engine.handle(DialogueState(), [StartFlow("check_balance")], "what is my balance, three times")
    assert isinstance(turn.effect, ToolCall)
    assert turn.state.notes == ["what is my balance, three times"]
    balance = {"amount": "5", "currency": "USD"}
    done = engine.resume(turn.state, ToolResult(turn.effect.frame_id, turn.effect.step_id, True, balance))
    assert done.state.frames == [] and done.state.notes == []
