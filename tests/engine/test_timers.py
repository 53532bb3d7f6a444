"""Wait steps and delayed retries in the engine, without I/O: timers are effects and outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from procpilot.domain.commands import SetSlot, StartFlow
from procpilot.domain.state import WAITING_EFFECT, WAITING_INPUT, WAITING_TIMER, DialogueState
from procpilot.engine import DialogueEngine, Timer, TimerFired, TimerStarted, ToolCall, ToolResult
from procpilot.packs.loader import load_pack

FLOWS = """flows:
  - id: remind
    name: reminder
    examples: [remind me]
    slots:
      delay: {type: text, description: when}
    steps:
      - collect: delay
        prompt: When?
      - wait: "{{ slots.delay }}"
      - respond: Time is up.
  - id: order
    name: order
    examples: [order]
    slots:
      item: {type: text, description: what}
    steps:
      - collect: item
        prompt: What would you like?
      - respond: "Ordered {{ slots.item }}."
  - id: sync
    name: sync
    examples: [sync]
    steps:
      - call: ping
        retries: 2
        retry_delay: 10m
        on_error: down
      - respond: Synced.
        next: END
      - id: down
        respond: Still down.
"""
TOOLS = """from procpilot.tools import toolset as ts
toolset = ts.Toolset()

@toolset.tool
def ping(ctx) -> dict:
    return {}
"""


@pytest.fixture
def engine(tmp_path: Path) -> DialogueEngine:
    (tmp_path / "flows").mkdir()
    (tmp_path / "tools").mkdir()
    (tmp_path / "pack.yaml").write_text("id: t\ntools: {python: [tools/t.py]}\n")
    (tmp_path / "flows" / "f.yaml").write_text(FLOWS)
    (tmp_path / "tools" / "t.py").write_text(TOOLS)
    return DialogueEngine(load_pack(tmp_path).pack)


def waiting(engine: DialogueEngine, delay: str = "2d") -> tuple[DialogueState, Timer]:
    turn = engine.handle(DialogueState(), [StartFlow("remind")])
    turn = engine.handle(turn.state, [SetSlot("delay", delay)])
    assert isinstance(turn.effect, Timer)
    return turn.state, turn.effect


def test_a_wait_step_asks_for_a_timer_and_waits_for_it(engine: DialogueEngine) -> None:
    state, timer = waiting(engine)
    assert (timer.seconds, timer.purpose) == (172800, "wait")
    # a crash before the runtime stored the timer: the state says what to redo
    assert engine.pending_effect(DialogueState.from_dict(json.loads(json.dumps(state.as_dict())))) == timer
    turn = engine.resume(
        state, TimerStarted(timer.frame_id, timer.step_id, "k1", "2026-11-25T10:00:00+00:00")
    )
    assert turn.state.top is not None and turn.state.top.status == WAITING_TIMER
    assert turn.effect is None and engine.pending_effect(turn.state) is None
    turn = engine.resume(turn.state, TimerFired(timer.frame_id, timer.step_id, "k1"))
    assert [m["text"] for m in turn.messages] == ["Time is up."]
    assert turn.state.frames == []


def test_a_timer_the_flow_no_longer_waits_for_changes_nothing(engine: DialogueEngine) -> None:
    state, timer = waiting(engine)
    state = engine.resume(state, TimerStarted(timer.frame_id, timer.step_id, "k1", "x")).state
    turn = engine.resume(state, TimerFired(timer.frame_id, timer.step_id, "another"))
    assert "outcome.stale" in [e.kind for e in turn.events] and turn.messages == []
    fired = engine.resume(state, TimerFired(timer.frame_id, timer.step_id, "k1")).state
    again = engine.resume(fired, TimerFired(timer.frame_id, timer.step_id, "k1"))  # a replay
    assert again.messages == [] and "outcome.stale" in [e.kind for e in again.events]


def test_the_woken_flow_comes_to_the_top_and_what_it_covered_goes_on_after(engine: DialogueEngine) -> None:
    state, timer = waiting(engine)
    state = engine.resume(state, TimerStarted(timer.frame_id, timer.step_id, "k1", "x")).state
    turn = engine.handle(state, [StartFlow("order")])
    assert turn.state.top is not None and turn.state.top.flow_id == "order"
    assert turn.state.top.status == WAITING_INPUT
    turn = engine.resume(turn.state, TimerFired(timer.frame_id, timer.step_id, "k1"))
    texts = [m["text"] for m in turn.messages]
    assert texts[0] == "Time is up." and texts[-1] == "What would you like?"
    assert [f.flow_id for f in turn.state.frames] == ["order"]


def test_a_duration_that_is_not_one_fails_the_flow_clearly(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("remind")])
    turn = engine.handle(turn.state, [SetSlot("delay", "soonish")])
    failed = [e for e in turn.events if e.kind == "flow.failed"]
    assert failed and "cannot wait: not a duration: 'soonish'" in failed[0].data["error"]
    assert turn.effect is None


def test_a_delayed_retry_waits_on_a_timer_then_calls_again_with_the_same_key(engine: DialogueEngine) -> None:
    turn = engine.handle(DialogueState(), [StartFlow("sync")])
    call = turn.effect
    assert isinstance(call, ToolCall)
    turn = engine.resume(turn.state, ToolResult(call.frame_id, call.step_id, False, error="down"))
    timer = turn.effect
    assert isinstance(timer, Timer) and (timer.seconds, timer.purpose) == (600, "retry")
    assert "try again in 10 minutes" in turn.messages[0]["text"]
    assert engine.pending_effect(turn.state) == timer  # the timer first, the call after it
    state = engine.resume(turn.state, TimerStarted(timer.frame_id, timer.step_id, "r1", "x")).state
    turn = engine.resume(state, TimerFired(timer.frame_id, timer.step_id, "r1"))
    again = turn.effect
    assert isinstance(again, ToolCall) and again.key == call.key and again.attempt == 2
    assert turn.state.top is not None and turn.state.top.status == WAITING_EFFECT
    turn = engine.resume(turn.state, ToolResult(call.frame_id, call.step_id, False, error="down"))
    timer = turn.effect
    assert isinstance(timer, Timer) and timer.seconds == 1200 and turn.messages == []  # doubled, told once
    state = engine.resume(turn.state, TimerStarted(timer.frame_id, timer.step_id, "r2", "x")).state
    turn = engine.resume(state, TimerFired(timer.frame_id, timer.step_id, "r2"))
    assert isinstance(turn.effect, ToolCall) and turn.effect.attempt == 3
    turn = engine.resume(turn.state, ToolResult(call.frame_id, call.step_id, False, error="down"))
    assert [m["text"] for m in turn.messages] == ["Still down."]
