"""Random command sequences never corrupt the dialogue state (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procpilot.domain.commands import (
    AskKnowledge,
    CancelFlow,
    CannotHandle,
    Chitchat,
    Clarify,
    Command,
    Confirm,
    CorrectSlot,
    Deny,
    HumanHandoff,
    SetSlot,
    StartFlow,
)
from procpilot.domain.state import WAITING_EFFECT, WAITING_STATES, DialogueState
from procpilot.domain.steps import END
from procpilot.engine import (
    ApprovalDecision,
    ApprovalHandle,
    ApprovalRequest,
    DialogueEngine,
    Generation,
    GenerationResult,
    ToolCall,
    ToolResult,
)

FLOWS = [
    "transfer_money",
    "check_balance",
    "close_account",
    "flaky_job",
    "broken_job",
    "leave",
    "onboarding",
    "write_note",
    "ask_name",
    "no_such_flow",
    "pattern_cancel",
]
SLOTS = ["recipient", "amount", "day", "days", "name", "nickname", "unknown"]
VALUES = st.one_of(
    st.text(max_size=12), st.integers(-5, 5000), st.sampled_from(["20 USD", "2026-01-02", "yes", "3"])
)

commands = st.one_of(
    st.builds(StartFlow, st.sampled_from(FLOWS)),
    st.builds(SetSlot, st.sampled_from(SLOTS), VALUES),
    st.builds(CorrectSlot, st.sampled_from(SLOTS), VALUES),
    st.just(CancelFlow()),
    st.just(Confirm()),
    st.just(Deny()),
    st.builds(AskKnowledge, st.text(max_size=10)),
    st.builds(Chitchat, st.sampled_from(["greet", "thanks", "bye"])),
    st.just(HumanHandoff()),
    st.builds(Clarify, st.lists(st.sampled_from(FLOWS), max_size=3).map(tuple)),
    st.just(CannotHandle()),
)
outcomes = st.sampled_from(["ok", "fail"])


def check_invariants(engine: DialogueEngine, state: DialogueState) -> None:
    flows = engine.pack.flows
    ids = [f.frame_id for f in state.frames]
    assert len(ids) == len(set(ids)), "frame ids are unique"
    for index, frame in enumerate(state.frames):
        assert frame.flow_id in flows
        assert frame.step_id == END or flows[frame.flow_id].has_step(frame.step_id)
        if frame.parent is not None:
            assert frame.parent in ids[:index], "a caller sits below the flow it called"
        if frame.status == WAITING_EFFECT:
            assert index == len(state.frames) - 1, "only the top frame waits for an effect"
    assert json.loads(json.dumps(state.as_dict())) == state.as_dict()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.lists(commands, max_size=3), outcomes), max_size=12))
def test_random_command_sequences_keep_the_state_sound(
    mini_loaded: Any, script: list[tuple[list[Command], str]]
) -> None:
    engine = DialogueEngine(mini_loaded.pack)
    state = DialogueState()
    for batch, outcome in script:
        turn = engine.handle(state, batch)
        for _ in range(10):
            effect = turn.effect
            if effect is None:
                break
            if isinstance(effect, ToolCall):
                result = ToolResult(
                    effect.frame_id, effect.step_id, outcome == "ok", {"found": False}, "boom"
                )
            elif isinstance(effect, ApprovalRequest):
                result = ApprovalHandle(effect.frame_id, effect.step_id, "apr")  # type: ignore[assignment]
            else:
                assert isinstance(effect, Generation)
                result = GenerationResult(effect.frame_id, effect.step_id, "text")  # type: ignore[assignment]
            turn = engine.resume(turn.state, result)
            check_invariants(engine, turn.state)
        if outcome == "ok" and any(f.status in WAITING_STATES for f in turn.state.frames):
            turn = engine.resume(turn.state, ApprovalDecision("apr", "approved"))
        state = turn.state
        check_invariants(engine, state)
