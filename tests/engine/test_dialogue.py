"""The dialogue engine, without I/O: commands in, events and effects out."""

from __future__ import annotations

from typing import Any

import pytest

from procpilot.domain.commands import (
    AskKnowledge,
    CancelFlow,
    CannotHandle,
    Chitchat,
    Clarify,
    Confirm,
    CorrectSlot,
    Deny,
    HumanHandoff,
    SetSlot,
    StartFlow,
)
from procpilot.domain.expectation import CONFIRMATION, SLOT
from procpilot.domain.state import WAITING_APPROVAL, WAITING_CONFIRM, WAITING_INPUT, DialogueState
from procpilot.engine import (
    ApprovalDecision,
    ApprovalHandle,
    ApprovalRequest,
    DialogueEngine,
    Generation,
    GenerationResult,
    ToolCall,
    ToolResult,
    Turn,
)


@pytest.fixture
def engine(mini_loaded: Any) -> DialogueEngine:
    return DialogueEngine(mini_loaded.pack)


def said(turn: Turn) -> str:
    return "\n".join(m["text"] for m in turn.messages)


def kinds(turn: Turn) -> list[str]:
    return [e.kind for e in turn.events]


def to_confirmation(engine: DialogueEngine) -> Turn:
    turn = engine.handle(DialogueState(), [StartFlow("transfer_money")])
    turn = engine.handle(turn.state, [SetSlot("recipient", "Alice")])
    turn = engine.handle(turn.state, [SetSlot("amount", "20 USD")])
    return engine.handle(turn.state, [SetSlot("day", "2026-12-01")])


def test_a_flow_asks_for_its_first_slot(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("transfer_money")])
    assert said(turn) == "Who should receive the money?"
    assert turn.state.top is not None and turn.state.top.status == WAITING_INPUT
    assert turn.effect is None
    assert "flow.started" in kinds(turn)


def test_the_engine_never_changes_the_state_it_was_given(engine: DialogueEngine) -> None:
    state = DialogueState()
    engine.handle(state, [StartFlow("transfer_money")])
    assert state.frames == []


def test_slots_fill_in_order_then_confirmation_lists_the_details(engine: DialogueEngine) -> None:
    turn = to_confirmation(engine)
    assert said(turn) == "Send $20.00 to Alice on 2026-12-01?"
    assert turn.state.top is not None and turn.state.top.status == WAITING_CONFIRM
    assert engine.expectation(turn.state).kind == CONFIRMATION


def test_yes_calls_the_tool_with_arguments_from_slots(engine: DialogueEngine) -> None:
    turn = engine.handle(to_confirmation(engine).state, [Confirm()])
    assert isinstance(turn.effect, ToolCall)
    assert turn.effect.tool == "send_money"
    assert turn.effect.args == {"recipient": "Alice", "amount": 20, "day": "2026-12-01"}
    done = engine.resume(
        turn.state, ToolResult(turn.effect.frame_id, turn.effect.step_id, True, {"reference": "abc"})
    )
    assert said(done) == "Sent. Reference abc."
    assert done.state.frames == []
    assert "flow.completed" in kinds(done)


def test_no_takes_the_flows_own_branch(engine: DialogueEngine) -> None:
    turn = engine.handle(to_confirmation(engine).state, [Deny()])
    assert said(turn) == "Okay, I won't send it."
    assert turn.effect is None and turn.state.frames == []


def test_a_failed_tool_takes_the_error_branch_with_the_message(engine: DialogueEngine) -> None:
    turn = engine.handle(to_confirmation(engine).state, [Confirm()])
    assert isinstance(turn.effect, ToolCall)
    done = engine.resume(
        turn.state, ToolResult(turn.effect.frame_id, turn.effect.step_id, False, error="no money")
    )
    assert said(done) == "The transfer failed: no money"
    assert "tool.failed" in kinds(done)


def test_a_failed_tool_without_error_branch_stops_the_flow_and_says_so(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("broken_job")])
    assert isinstance(turn.effect, ToolCall)
    done = engine.resume(
        turn.state, ToolResult(turn.effect.frame_id, turn.effect.step_id, False, error="down")
    )
    assert "something went wrong" in said(done) and "Nothing was changed" in said(done)
    assert "never said" not in said(done)
    assert done.state.frames == []


def test_retries_reissue_the_same_idempotency_key(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("flaky_job")])
    first = turn.effect
    assert isinstance(first, ToolCall) and first.attempt == 1
    again = engine.resume(turn.state, ToolResult(first.frame_id, first.step_id, False, error="x"))
    assert isinstance(again.effect, ToolCall)
    assert again.effect.attempt == 2 and again.effect.key == first.key
    done = engine.resume(again.state, ToolResult(first.frame_id, first.step_id, True, "finally"))
    assert said(done) == "flaky said finally"


def test_an_invalid_value_is_explained_and_asked_again(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("transfer_money"), SetSlot("recipient", "Bob")])
    turn = engine.handle(turn.state, [SetSlot("amount", "5000")])
    assert said(turn) == "You can send at most 1000 at once, not 5000.00.\nHow much?"
    assert "slot.rejected" in kinds(turn)


def test_repeated_failure_hands_over_to_a_person(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("transfer_money"), SetSlot("recipient", "Bob")])
    for _ in range(3):
        turn = engine.handle(turn.state, [SetSlot("amount", "lots")])
    assert "handoff.requested" in kinds(turn)
    assert turn.state.handed_off and turn.state.frames == []


def test_correction_rewinds_so_the_confirmation_shows_the_new_value(engine: DialogueEngine) -> None:
    turn = engine.handle(to_confirmation(engine).state, [CorrectSlot("recipient", "Carol")])
    assert "Okay, I've changed recipient to Carol." in said(turn)
    assert said(turn).endswith("Send $20.00 to Carol on 2026-12-01?")
    assert turn.state.top is not None and turn.state.top.status == WAITING_CONFIRM


def test_cancel_stops_the_flow_and_forgets_it(engine: DialogueEngine) -> None:
    turn = engine.handle(to_confirmation(engine).state, [CancelFlow()])
    assert said(turn) == "Okay, I've stopped send money. Nothing was changed."
    assert turn.state.frames == [] and turn.effect is None


def test_a_digression_returns_to_the_interrupted_question(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("transfer_money"), SetSlot("recipient", "Bob")])
    turn = engine.handle(turn.state, [StartFlow("check_balance")])
    assert isinstance(turn.effect, ToolCall)
    done = engine.resume(turn.state, ToolResult(turn.effect.frame_id, turn.effect.step_id, True, 500.0))
    assert said(done) == "Your balance is $500.00.\nLet's get back to send money.\nHow much?"
    assert [f.flow_id for f in done.state.frames] == ["transfer_money"]
    assert engine.expectation(done.state).kind == SLOT


def test_a_question_mid_flow_is_answered_then_the_question_repeated(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("transfer_money"), SetSlot("recipient", "Bob")])
    turn = engine.handle(turn.state, [AskKnowledge("what is the limit?")])
    assert isinstance(turn.effect, ToolCall) and turn.effect.tool == "search_knowledge"
    citation = {"n": 1, "label": "Transfer limits", "page": "/knowledge/bank/documents/7#chunk-3"}
    result = {"found": True, "text": "At most 1000. [1]", "citations": [citation]}
    done = engine.resume(turn.state, ToolResult(turn.effect.frame_id, turn.effect.step_id, True, result))
    assert (
        said(done)
        == "At most 1000. [1]\n[1] [Transfer limits](/knowledge/bank/documents/7#chunk-3)\nHow much?"
    )


def test_clarification_offers_the_candidates_as_buttons(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [Clarify(("transfer_money", "check_balance"))])
    assert (
        said(turn) == "I'm not sure what you'd like to do. Do you want to send money or check your balance?"
    )
    assert [b["title"] for b in turn.messages[0]["buttons"]] == ["send money", "check your balance"]


def test_flows_refuse_people_without_the_role(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("close_account")])
    assert said(turn) == "Sorry, you are not allowed to close your account."
    admin = DialogueState(roles=["admin"])
    assert said(engine.handle(admin, [StartFlow("close_account")])) == "Closed."


def test_out_of_scope_three_times_hands_over(engine: DialogueEngine) -> None:
    state = DialogueState()
    turn = engine.handle(state, [CannotHandle()])
    assert "didn't understand" in said(turn)
    turn = engine.handle(engine.handle(turn.state, [CannotHandle()]).state, [CannotHandle()])
    assert "handoff.requested" in kinds(turn)


def test_a_yes_with_nothing_pending_is_not_consent(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [Confirm()])
    assert turn.effect is None and "didn't understand" in said(turn)


def test_human_handoff_and_chitchat(engine: DialogueEngine) -> None:
    assert engine.handle(DialogueState(), [HumanHandoff()]).state.handed_off
    assert said(engine.handle(DialogueState(), [Chitchat("thanks")])) == "You're welcome!"


def test_a_sub_flow_hands_back_to_its_caller(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("onboarding")])
    assert said(turn) == "What is your name?"
    turn = engine.handle(turn.state, [SetSlot("name", "Ann")])
    assert said(turn) == "Hi Ann, what nickname?"
    turn = engine.handle(turn.state, [SetSlot("nickname", "annie")])
    assert said(turn) == "Profile ready for annie."
    assert turn.state.memory == {"name": "Ann"}


def test_cancelling_a_sub_flow_cancels_its_caller(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("onboarding")])
    turn = engine.handle(turn.state, [CancelFlow()])
    assert said(turn) == "Okay, I've stopped set up a profile. Nothing was changed."
    assert turn.state.frames == []


def test_approval_waits_and_the_decision_resumes_the_flow(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("leave"), SetSlot("days", "3")])
    request = turn.effect
    assert isinstance(request, ApprovalRequest)
    assert request.role == "manager" and request.summary == "3 days of leave"
    waiting = engine.resume(
        turn.state, ApprovalHandle(request.frame_id, request.step_id, "apr_1", "the manager team")
    )
    assert waiting.state.top is not None and waiting.state.top.status == WAITING_APPROVAL
    assert "for approval" in said(waiting)
    approved = engine.resume(waiting.state, ApprovalDecision("apr_1", "approved", "ok", "boss"))
    assert "approved" in said(approved) and "Enjoy your 3 days off." in said(approved)
    rejected = engine.resume(waiting.state, ApprovalDecision("apr_1", "rejected", "busy week", "boss"))
    assert said(rejected).endswith("Sorry: busy week")


def test_a_decision_under_another_flow_finishes_its_flow_first(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("leave"), SetSlot("days", "3")])
    request = turn.effect
    assert isinstance(request, ApprovalRequest)
    waiting = engine.resume(turn.state, ApprovalHandle(request.frame_id, request.step_id, "apr_1", "x"))
    other = engine.handle(waiting.state, [StartFlow("onboarding")])
    assert other.state.top is not None and other.state.top.flow_id != "leave"
    covering = other.state.top.flow_id
    decided = engine.resume(other.state, ApprovalDecision("apr_1", "approved", "", "boss"))
    texts = [m["text"] for m in decided.messages]
    assert "Enjoy your 3 days off." in texts  # at once, not when the other flow ends
    assert texts.index("Enjoy your 3 days off.") < len(texts) - 1  # then the other flow asks again
    assert [f.flow_id for f in decided.state.frames][-1] == covering
    assert "leave" not in [f.flow_id for f in decided.state.frames]


def test_a_stale_decision_changes_nothing(engine: DialogueEngine) -> None:
    turn = engine.resume(DialogueState(), ApprovalDecision("apr_unknown", "approved"))
    assert kinds(turn) == ["outcome.stale"]


def test_generate_asks_the_runtime_for_text(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("write_note")])
    assert isinstance(turn.effect, Generation) and turn.effect.prompt == "Note for you."
    done = engine.resume(turn.state, GenerationResult(turn.effect.frame_id, turn.effect.step_id, "A note."))
    assert said(done) == "A note.\nSaved: A note."


def test_messages_during_an_outstanding_effect_are_deferred(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("check_balance")])
    assert isinstance(turn.effect, ToolCall)
    again = engine.handle(turn.state, [StartFlow("transfer_money")])
    assert again.effect == turn.effect
    assert [f.flow_id for f in again.state.frames] == ["check_balance"]


def test_state_round_trips_through_json(engine: DialogueEngine) -> None:
    import json

    state = to_confirmation(engine).state
    assert DialogueState.from_dict(json.loads(json.dumps(state.as_dict()))) == state
