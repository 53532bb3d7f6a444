"""Advancing flows: run steps of the top frame until the dialogue must wait or an effect is needed."""

from __future__ import annotations

from typing import Any

from procpilot.domain import expressions
from procpilot.domain.durations import parse_duration
from procpilot.domain.errors import ExpressionError, UserError
from procpilot.domain.state import (
    ACTIVE,
    WAITING_APPROVAL,
    WAITING_CONFIRM,
    WAITING_EFFECT,
    WAITING_INPUT,
    WAITING_TIMER,
    Frame,
)
from procpilot.domain.steps import (
    END,
    ApprovalStep,
    BranchStep,
    CallFlowStep,
    CallStep,
    CollectStep,
    ConfirmStep,
    EndStep,
    GenerateStep,
    HandoffStep,
    RespondStep,
    SetStep,
    Step,
    WaitStep,
)
from procpilot.engine.effects import ApprovalRequest, Effect, Generation, Timer, ToolCall, effect_as_dict
from procpilot.engine.turn import TurnContext, lookup

WAITING_FLOW = "waiting_flow"
MAX_STEPS_PER_TURN = 500
MAX_BUTTONS = 12


def advance(turn: TurnContext) -> None:
    """Run until every frame waits, the stack is empty, or an effect is requested."""
    for _ in range(MAX_STEPS_PER_TURN):
        if turn.effect is not None:
            return
        frame = turn.state.top
        if frame is None:
            return
        if frame.status in (WAITING_INPUT, WAITING_CONFIRM, WAITING_APPROVAL):
            if frame.context.pop("interrupted", None) and not turn.flow(frame).pattern:
                turn.push("pattern_continue", context={"flow_title": turn.flow(frame).title})
                continue
            if frame.context.pop("reprompt", None):
                _reprompt(turn, frame)
            return
        if frame.status == WAITING_EFFECT:
            return
        if frame.status == WAITING_TIMER:
            # Nothing to ask: the timer wakes the flow (and brings it to the top) when it is due.
            frame.context.pop("interrupted", None)
            frame.context.pop("reprompt", None)
            return
        if frame.status == WAITING_FLOW:
            # The called flow is gone without completing; carry on after the call.
            frame.status = ACTIVE
            _goto(turn, frame, turn.flow(frame).following(frame.step_id))
            continue
        if frame.step_id == END:
            _complete(turn, frame)
            continue
        step = turn.flow(frame).step(frame.step_id)
        try:
            _run(turn, frame, step)
        except ExpressionError as error:
            _fail(turn, frame, f"expression failed in step {step.id}: {error}")
    guilty = turn.state.top
    _fail(turn, guilty, f"more than {MAX_STEPS_PER_TURN} steps in one turn; the flow seems to loop")


def _goto(turn: TurnContext, frame: Frame, step_id: str) -> None:
    frame.step_id = step_id
    frame.status = ACTIVE


def _next(turn: TurnContext, frame: Frame) -> None:
    _goto(turn, frame, turn.flow(frame).following(frame.step_id))


def _complete(turn: TurnContext, frame: Frame) -> None:
    turn.pop(frame, "completed")
    if frame.parent:
        parent = turn.state.frame(frame.parent)
        if parent is not None:
            parent.context.pop("reprompt", None)
            _goto(turn, parent, turn.flow(parent).following(parent.step_id))
    elif not turn.flow(frame).pattern:
        turn.state.failures = 0


def _fail(turn: TurnContext, frame: Frame | None, message: str) -> None:
    """Stop the flow that broke, tell the person, record why."""
    turn.emit("flow.failed", flow=frame.flow_id if frame else None, error=message)
    if frame is None:
        return
    title = turn.flow(frame).title
    turn.cancel_chain(frame)
    if not turn.flow(frame).pattern:
        turn.push("pattern_internal_error", context={"flow_title": title, "error": message})


def _visit(frame: Frame, step: Step) -> int:
    visits = frame.context.setdefault("visits", {})
    visits[step.id] = visits.get(step.id, 0) + 1
    return int(visits[step.id])


def _buttons_from(slots: dict[str, Any], path: str) -> list[dict[str, str]]:
    """Buttons a tool's result lists: items with a ``title`` (and a ``payload``, else the title)."""
    data = lookup(slots, path)
    if not isinstance(data, list):
        return []
    out = []
    for item in data:
        if isinstance(item, dict) and item.get("title"):
            out.append({"title": str(item["title"]), "payload": str(item.get("payload") or item["title"])})
    return out


def _buttons(turn: TurnContext, frame: Frame, step: CollectStep) -> list[dict[str, str]]:
    slot = turn.flow(frame).slots[step.slot]
    if slot.type == "boolean":
        return [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]
    if not slot.is_choice or not step.buttons:
        return []
    options = turn.options(frame, slot)
    if len(options) > MAX_BUTTONS:
        return []
    return [{"title": o.label, "payload": str(o.value)} for o in options]


def _reprompt(turn: TurnContext, frame: Frame) -> None:
    step = turn.flow(frame).step(frame.step_id)
    if isinstance(step, CollectStep):
        turn.utter(turn.render(step.prompt, frame), frame, _buttons(turn, frame, step))
    elif isinstance(step, ConfirmStep):
        turn.utter(turn.render(step.prompt, frame), frame, _YES_NO)
    elif isinstance(step, ApprovalStep):
        turn.utter("Your request is still waiting for approval.", frame)


_YES_NO = [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]


def _run(turn: TurnContext, frame: Frame, step: Step) -> None:
    turn.emit("step.started", flow=frame.flow_id, frame=frame.frame_id, step=step.id, type=step.key)
    if isinstance(step, CollectStep):
        _collect(turn, frame, step)
    elif isinstance(step, CallStep):
        _call(turn, frame, step)
    elif isinstance(step, SetStep):
        for target, source in step.values.items():
            value = expressions.evaluate(source, turn.env(frame)) if isinstance(source, str) else source
            if target.startswith("conversation."):
                turn.state.memory[target.split(".", 1)[1]] = value
                turn.emit("memory.set", key=target.split(".", 1)[1], value=value)
            else:
                turn.set_slot(frame, target, value, how="set")
        _next(turn, frame)
    elif isinstance(step, BranchStep):
        env = turn.env(frame)
        for case in step.cases:
            if expressions.truthy(case.condition, env):
                _goto(turn, frame, case.then)
                return
        if step.otherwise:
            _goto(turn, frame, step.otherwise)
        else:
            _next(turn, frame)
    elif isinstance(step, ConfirmStep):
        frame.status = WAITING_CONFIRM
        turn.utter(turn.render(step.prompt, frame), frame, _YES_NO)
    elif isinstance(step, RespondStep):
        buttons = [{"title": b, "payload": b} for b in step.buttons]
        if step.buttons_from:
            buttons = _buttons_from(frame.slots, step.buttons_from)
        if frame.flow_id == "pattern_clarification":
            buttons = [{"title": c, "payload": c} for c in frame.context.get("candidates", [])]
        turn.utter(turn.render(step.text, frame), frame, buttons)
        _next(turn, frame)
    elif isinstance(step, CallFlowStep):
        frame.status = WAITING_FLOW
        turn.push(step.flow, parent=frame.frame_id)
    elif isinstance(step, HandoffStep):
        reason = turn.render(step.reason, frame)
        turn.utter(turn.render(step.message, frame), frame)
        turn.emit("handoff.requested", flow=frame.flow_id, reason=reason)
        for victim in list(reversed(turn.state.frames)):
            turn.state.frames.remove(victim)
            turn.emit("flow.cancelled", flow=victim.flow_id, frame=victim.frame_id)
        turn.state.handed_off = True
    elif isinstance(step, EndStep):
        if step.message:
            turn.utter(turn.render(step.message, frame), frame)
        if step.cancel:
            turn.cancel_chain(frame)
        else:
            _complete(turn, frame)
    elif isinstance(step, ApprovalStep):
        _approval(turn, frame, step)
    elif isinstance(step, GenerateStep):
        request(
            turn,
            frame,
            Generation(
                frame_id=frame.frame_id,
                step_id=step.id,
                flow_id=frame.flow_id,
                prompt=turn.render(step.template, frame),
                instructions=step.instructions,
            ),
        )
    elif isinstance(step, WaitStep):
        _wait(turn, frame, step)
    else:  # pragma: no cover - the loader only builds known step types
        raise AssertionError(f"unknown step {step!r}")


def _collect(turn: TurnContext, frame: Frame, step: CollectStep) -> None:
    slot = turn.flow(frame).slots[step.slot]
    if step.skip_if and expressions.truthy(step.skip_if, turn.env(frame)):
        _next(turn, frame)
        return
    asked_key = f"asked:{step.id}"
    deferred = frame.context.get("prefill", {}).pop(step.slot, None)
    if deferred is not None and frame.slots.get(step.slot) is None:
        canonical, problem = turn.check_value(frame, slot, deferred)
        if problem is None:
            turn.set_slot(frame, step.slot, canonical, how="prefill")
        else:
            turn.emit("slot.rejected", flow=frame.flow_id, slot=step.slot, value=deferred, reason=problem)
    problem = turn.recall_slot(frame, slot) if not step.ask_before_filling else None
    value = frame.slots.get(step.slot)
    if value is not None and not (step.ask_before_filling and not frame.context.get(asked_key)):
        # Re-check a value filled earlier: the options or other slots may have changed since.
        canonical, problem = turn.check_value(frame, slot, value)
        if problem is None:
            if canonical != value:
                turn.set_slot(frame, step.slot, canonical, how="recheck")
            _next(turn, frame)
            return
        frame.slots.pop(step.slot, None)
        turn.emit("slot.rejected", flow=frame.flow_id, slot=step.slot, value=value, reason=problem)
    frame.context[asked_key] = True
    frame.status = WAITING_INPUT
    if problem:
        turn.utter(problem, frame)
    turn.utter(turn.render(step.prompt, frame), frame, _buttons(turn, frame, step))


def _call(turn: TurnContext, frame: Frame, step: CallStep) -> None:
    env = turn.env(frame)
    args: dict[str, Any] = {}
    for name, source in step.args.items():
        args[name] = expressions.evaluate(source, env) if isinstance(source, str) else source
    visit = _visit(frame, step)
    frame.status = WAITING_EFFECT
    frame.context["attempt"] = 1
    call = ToolCall(
        frame_id=frame.frame_id,
        step_id=step.id,
        flow_id=frame.flow_id,
        tool=step.tool,
        args=args,
        key=f"{frame.frame_id}/{step.id}/{visit}",
        retries=step.retries,
    )
    frame.context["pending"] = {"tool": step.tool, "args": args, "key": call.key, "attempt": 1}
    turn.emit("tool.requested", flow=frame.flow_id, step=step.id, tool=step.tool, args=args, key=call.key)
    turn.effect = call


def request(turn: TurnContext, frame: Frame, effect: Effect) -> None:
    """Ask the runtime for ``effect``; the frame keeps it so a crash before it is done can redo it."""
    frame.status = WAITING_EFFECT
    frame.context["effect"] = effect_as_dict(effect)
    turn.effect = effect


def _approval(turn: TurnContext, frame: Frame, step: ApprovalStep) -> None:
    env = turn.env(frame)
    assignee = expressions.evaluate(step.assignee, env) if step.assignee else None
    role = step.role
    summary = turn.render(step.summary, frame) or turn.flow(frame).title
    revision = frame.context.pop("revision", None)
    if revision and revision.get("step") == step.id and revision.get("approver"):
        # Amended after this approver asked for changes: back to them, saying so.
        assignee, role = revision["approver"], None
        summary = turn.response("approval_amended", comment=revision.get("comment", ""), summary=summary)
    visit = _visit(frame, step)
    request(
        turn,
        frame,
        ApprovalRequest(
            frame_id=frame.frame_id,
            step_id=step.id,
            flow_id=frame.flow_id,
            key=f"{frame.frame_id}/{step.id}/{visit}",
            summary=summary,
            role=role,
            assignee=str(assignee) if assignee is not None else None,
            timeout=step.timeout,
        ),
    )


def _wait(turn: TurnContext, frame: Frame, step: WaitStep) -> None:
    text = turn.render(step.duration, frame)
    try:
        seconds = parse_duration(text)
    except UserError as error:
        _fail(turn, frame, f"step {step.id} cannot wait: {error}")
        return
    visit = _visit(frame, step)
    key = f"{frame.frame_id}/{step.id}/{visit}"
    turn.emit("timer.requested", flow=frame.flow_id, step=step.id, seconds=seconds, key=key)
    request(turn, frame, Timer(frame.frame_id, step.id, frame.flow_id, key, seconds, "wait"))
