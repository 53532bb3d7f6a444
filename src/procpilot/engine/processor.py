"""Applying commands to the dialogue state (before the executor advances it)."""

from __future__ import annotations

from typing import Any

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
from procpilot.domain.state import ACTIVE, WAITING_CONFIRM, WAITING_INPUT, Frame
from procpilot.domain.steps import CollectStep, ConfirmStep
from procpilot.engine.turn import TurnContext

# Cancellation first (it clears the stack), then new flows, then slots into them, then answers.
_ORDER = {
    CancelFlow: 0,
    StartFlow: 1,
    SetSlot: 2,
    CorrectSlot: 2,
    Confirm: 3,
    Deny: 3,
    Clarify: 4,
    AskKnowledge: 5,
    HumanHandoff: 6,
    Chitchat: 7,
    CannotHandle: 8,
}


def order(commands: list[Command]) -> list[Command]:
    """Drop duplicates and put commands in the order they must apply."""
    unique: list[Command] = []
    for command in commands:
        if command not in unique:
            unique.append(command)
    if any(isinstance(c, StartFlow | SetSlot | CorrectSlot | Confirm | Deny) for c in unique):
        # A greeting alongside real work needs no answer of its own.
        unique = [c for c in unique if not (isinstance(c, Chitchat) and c.kind == "greet")]
    return sorted(unique, key=lambda c: _ORDER[type(c)])


def apply(turn: TurnContext, command: Command) -> None:
    """Apply one command; emits events and pushes patterns as needed."""
    if isinstance(command, StartFlow):
        if command.note is not None and turn.started_request:
            # A second request in the same message waits until the first is done.
            turn.state.queue.append({"flow": command.flow, "note": command.note})
            turn.emit("flow.queued", flow=command.flow)
            return
        if command.note is not None:
            turn.state.notes = [command.note]
        _start(turn, command.flow)
    elif isinstance(command, SetSlot):
        _set(turn, command.slot, command.value)
    elif isinstance(command, CorrectSlot):
        _correct(turn, command.slot, command.value)
    elif isinstance(command, CancelFlow):
        _cancel(turn, command.frame)
    elif isinstance(command, Confirm | Deny):
        _answer(turn, isinstance(command, Confirm))
    elif isinstance(command, AskKnowledge):
        turn.push("pattern_knowledge", context={"query": command.query})
    elif isinstance(command, Chitchat):
        turn.push("pattern_chitchat", context={"kind": command.kind, "capabilities": turn.capabilities()})
    elif isinstance(command, HumanHandoff):
        turn.push("pattern_human_handoff", context={"reason": command.reason})
    elif isinstance(command, Clarify) and command.slot:
        _which_option(turn, command.slot, command.candidates)
    elif isinstance(command, Clarify):
        titles = [turn.pack.flows[c].title for c in command.candidates if c in turn.pack.flows]
        if len(titles) >= 2:
            turn.push(
                "pattern_clarification", context={"candidates": titles, "flows": list(command.candidates)}
            )
        elif len(command.candidates) == 1 and command.candidates[0] in turn.pack.flows:
            _start(turn, command.candidates[0])
        else:
            _not_understood(turn, "clarification without candidates")
    elif isinstance(command, CannotHandle):
        _not_understood(turn, command.reason)


def _which_option(turn: TurnContext, slot_name: str, candidates: tuple[Any, ...]) -> None:
    """Words that fit several options: ask which, naming each (precision before recall)."""
    frame = _frame_for(turn, slot_name)
    if frame is None:
        turn.emit("slot.ignored", slot=slot_name, reason="no active flow has this slot")
        return
    slot = turn.flow(frame).slots[slot_name]
    options = [o for o in turn.options(frame, slot) if o.value in candidates]
    if len(options) < 2:
        _not_understood(turn, f"clarification of {slot_name} without candidates")
        return
    turn.emit("slot.ambiguous", flow=frame.flow_id, slot=slot_name, candidates=[o.value for o in options])
    turn.utter(
        turn.response("which_option", labels=[o.label for o in options]),
        frame,
        [{"title": o.label, "payload": str(o.value)} for o in options],
    )


def _not_understood(turn: TurnContext, reason: str) -> None:
    turn.state.failures += 1
    if turn.state.failures >= turn.pack.settings.failures_before_handoff:
        turn.state.failures = 0
        turn.push("pattern_repeated_failure", context={"reason": f"not understood {reason}"})
    else:
        turn.push("pattern_cannot_handle", context={"capabilities": turn.capabilities(), "reason": reason})


def _start(turn: TurnContext, flow_id: str) -> None:
    flow = turn.pack.flows.get(flow_id)
    if flow is None or flow.pattern:
        _not_understood(turn, f"unknown flow {flow_id}")
        return
    if not flow.may_start(turn.state.roles):
        turn.push("pattern_not_allowed", context={"flow_title": flow.title})
        return
    if any(frame.flow_id == flow_id for frame in turn.state.frames):
        turn.emit("flow.already_active", flow=flow_id)
        return
    turn.state.failures = 0
    turn.started_request = True
    turn.push(flow_id)


def _frame_for(turn: TurnContext, slot: str, *, filled: bool | None = None) -> Frame | None:
    for frame in reversed(turn.state.frames):
        flow = turn.flow(frame)
        if flow.pattern or slot not in flow.slots:
            continue
        if filled is None or (frame.slots.get(slot) is not None) == filled:
            return frame
    return None


def _current_collect(turn: TurnContext, frame: Frame) -> CollectStep | None:
    if frame.status != WAITING_INPUT:
        return None
    step = turn.flow(frame).step(frame.step_id)
    return step if isinstance(step, CollectStep) else None


def _set(turn: TurnContext, slot_name: str, value: Any) -> None:
    frame = _frame_for(turn, slot_name)
    if frame is None:
        turn.emit("slot.ignored", slot=slot_name, reason="no active flow has this slot")
        return
    slot = turn.flow(frame).slots[slot_name]
    collecting = _current_collect(turn, frame)
    if collecting is not None and collecting.slot == slot_name:
        canonical, problem = turn.check_value(frame, slot, value)
        if problem is None:
            turn.set_slot(frame, slot_name, canonical)
            turn.state.failures = 0
            frame.status = ACTIVE
            frame.step_id = turn.flow(frame).following(frame.step_id)
            return
        attempts = frame.attempts.get(slot_name, 0) + 1
        frame.attempts[slot_name] = attempts
        turn.emit("slot.rejected", flow=frame.flow_id, slot=slot_name, value=value, reason=problem)
        limit = collecting.max_attempts or turn.pack.settings.max_attempts
        if attempts >= limit:
            turn.push("pattern_repeated_failure", context={"reason": f"{slot_name}: {problem}"})
            return
        turn.utter(problem, frame)
        frame.context["reprompt"] = True
        return
    if frame.slots.get(slot_name) is not None:
        if frame.slots[slot_name] != value:
            _correct(turn, slot_name, value)
        return
    if slot.options_from and not turn.options(frame, slot):
        # The choices come from a tool that has not run yet: keep the value until they exist.
        frame.context.setdefault("prefill", {})[slot_name] = value
        turn.emit("slot.deferred", flow=frame.flow_id, slot=slot_name, value=value)
        return
    canonical, problem = turn.check_value(frame, slot, value)
    if problem is None:
        turn.set_slot(frame, slot_name, canonical, how="prefill")
        if collecting is not None and collecting.skip_if:
            frame.status = ACTIVE  # let the collect step re-check its skip condition
    else:
        turn.emit("slot.rejected", flow=frame.flow_id, slot=slot_name, value=value, reason=problem)


def _correct(turn: TurnContext, slot_name: str, value: Any) -> None:
    if value is None:
        _reopen(turn, slot_name)
        return
    frame = _frame_for(turn, slot_name, filled=True) or _frame_for(turn, slot_name)
    if frame is None:
        turn.emit("slot.ignored", slot=slot_name, reason="no active flow has this slot")
        return
    collecting = _current_collect(turn, frame)
    if collecting is not None and collecting.slot == slot_name:
        _set(turn, slot_name, value)
        return
    flow = turn.flow(frame)
    slot = flow.slots[slot_name]
    canonical, problem = turn.check_value(frame, slot, value)
    if problem is not None:
        turn.emit("slot.rejected", flow=frame.flow_id, slot=slot_name, value=value, reason=problem)
        turn.utter(problem, frame)
        if frame.status in (WAITING_INPUT, WAITING_CONFIRM):
            frame.context["reprompt"] = True
        return
    turn.set_slot(frame, slot_name, canonical, how="correction")
    ids = [step.id for step in flow.steps]
    collect_index = next(
        (i for i, s in enumerate(flow.steps) if isinstance(s, CollectStep) and s.slot == slot_name), None
    )
    current = ids.index(frame.step_id) if frame.step_id in ids else len(ids)
    if (
        collect_index is not None
        and collect_index < current
        and frame.status in (WAITING_INPUT, WAITING_CONFIRM)
    ):
        # Re-run what came after the corrected answer, so checks and summaries see the new value.
        frame.step_id = flow.following(ids[collect_index])
        frame.status = ACTIVE
    label = next((o.label for o in turn.options(frame, slot) if o.value == canonical), None)
    turn.push(
        "pattern_correction",
        context={
            "slot": slot_name,
            "slot_title": slot.description or slot_name.replace("_", " "),
            "value": canonical,
            "value_text": label or _text(canonical),
        },
    )


def _reopen(turn: TurnContext, slot_name: str) -> None:
    """ "Change the date" with no new date: ask for it again, from the step that collected it (the
    steps after it run again, so checks and the summary see the new answer)."""
    frame = _frame_for(turn, slot_name, filled=True)
    if frame is None or frame.status not in (WAITING_INPUT, WAITING_CONFIRM, ACTIVE):
        turn.emit("slot.ignored", slot=slot_name, reason="nothing filled to ask again")
        return
    flow = turn.flow(frame)
    ids = [step.id for step in flow.steps]
    collect = next((s for s in flow.steps if isinstance(s, CollectStep) and s.slot == slot_name), None)
    current = ids.index(frame.step_id) if frame.step_id in ids else len(ids)
    if collect is None or ids.index(collect.id) >= current:
        turn.emit("slot.ignored", slot=slot_name, reason="not asked before this step")
        return
    old = frame.slots.pop(slot_name)
    # What they said before must not fill it again from their earlier words.
    frame.context.setdefault("discarded", {}).setdefault(slot_name, []).append(old)
    frame.context.pop(f"asked:{collect.id}", None)
    frame.context.pop("reprompt", None)
    frame.step_id = collect.id
    frame.status = ACTIVE
    turn.emit("slot.reopened", flow=frame.flow_id, slot=slot_name, value=old)


def _text(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _cancel(turn: TurnContext, frame_id: str | None = None) -> None:
    frame = turn.state.frame(frame_id) if frame_id else turn.user_frame()
    if frame is None:
        turn.emit("flow.cancel_ignored", reason="no active flow")
        _not_understood(turn, "cancel with nothing to cancel")
        return
    # Cancelling a sub-flow cancels the process that called it: name the outer one.
    outer = frame
    while outer.parent and turn.state.frame(outer.parent) is not None:
        outer = turn.state.frame(outer.parent)  # type: ignore[assignment]
    title = turn.flow(outer).title
    turn.cancel_chain(frame)
    turn.push("pattern_cancel", context={"flow_title": title, "nothing_changed": True})


def _answer(turn: TurnContext, yes: bool) -> None:
    frame = turn.state.top
    if frame is not None and frame.status == WAITING_CONFIRM:
        step = turn.flow(frame).step(frame.step_id)
        assert isinstance(step, ConfirmStep)
        turn.emit("confirmation.answered", flow=frame.flow_id, step=step.id, yes=yes)
        frame.status = ACTIVE
        if yes:
            frame.step_id = turn.flow(frame).following(step.id)
        elif step.on_no:
            frame.step_id = step.on_no
        else:
            title = turn.flow(frame).title
            turn.cancel_chain(frame)
            turn.push("pattern_cancel", context={"flow_title": title, "nothing_changed": True})
        return
    collecting = _current_collect(turn, frame) if frame is not None else None
    if (
        frame is not None
        and collecting is not None
        and turn.flow(frame).slots[collecting.slot].type == "boolean"
    ):
        _set(turn, collecting.slot, yes)
        return
    turn.emit("confirmation.unexpected", yes=yes)
    _not_understood(turn, "a yes or no with no question pending")
