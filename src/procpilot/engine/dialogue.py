"""``DialogueEngine``: the pure core. ``(state, commands) -> Turn`` and ``(state, outcome) -> Turn``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procpilot.domain import expressions
from procpilot.domain.commands import Command, StartFlow
from procpilot.domain.durations import describe, parse_duration
from procpilot.domain.events import Event
from procpilot.domain.expectation import APPROVAL, CONFIRMATION, NOTHING, SLOT, Expectation
from procpilot.domain.flows import Flow, Pack
from procpilot.domain.state import (
    ACTIVE,
    WAITING_APPROVAL,
    WAITING_CONFIRM,
    WAITING_EFFECT,
    WAITING_INPUT,
    WAITING_TIMER,
    DialogueState,
    Frame,
)
from procpilot.domain.steps import ApprovalStep, CallStep, CollectStep, ConfirmStep, GenerateStep, WaitStep
from procpilot.engine import executor, processor
from procpilot.engine.effects import (
    ApprovalDecision,
    ApprovalHandle,
    ApprovalRequest,
    Effect,
    GenerationResult,
    Outcome,
    Timer,
    TimerFired,
    TimerStarted,
    ToolCall,
    ToolResult,
    effect_from_dict,
)
from procpilot.engine.templates import Renderer
from procpilot.engine.turn import Recall, TurnContext

MAX_NOTES = 8


@dataclass
class Turn:
    """The result of handling commands or an outcome."""

    state: DialogueState
    events: list[Event] = field(default_factory=list)
    effect: Effect | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.kind == "bot.uttered"]


class DialogueEngine:
    """Applies commands and outcomes to a copy of the state; never performs I/O."""

    def __init__(self, pack: Pack, renderer: Renderer | None = None, recall: Recall | None = None) -> None:
        self.pack = pack
        self.renderer = renderer or Renderer()
        self.recall = recall

    def _turn(self, state: DialogueState) -> TurnContext:
        return TurnContext(self.pack, self.renderer, state.copy(), recall=self.recall)

    def _finish(self, turn: TurnContext) -> Turn:
        while turn.request_ended and turn.user_frame() is None and turn.effect is None:
            # The request is done: what was said for it must not fill the next one.
            turn.state.notes = []
            turn.request_ended = False
            if not turn.state.queue:
                break
            # The next request the person asked for in the same message, with its own words.
            queued = turn.state.queue.pop(0)
            flow = self.pack.flows.get(str(queued["flow"]))
            if flow is None:
                continue
            turn.state.notes = [str(queued.get("note") or "")]
            turn.emit("flow.dequeued", flow=flow.id)
            turn.utter(turn.response("next_request", flow=flow.title))
            processor.apply(turn, StartFlow(flow.id))
            executor.advance(turn)
        return Turn(turn.state, turn.events, turn.effect)

    def handle(self, state: DialogueState, commands: list[Command], text: str | None = None) -> Turn:
        """Apply ``commands`` and advance until the dialogue waits or needs an effect. ``text``, the
        message the commands came from, is kept in the notes of the person's current request."""
        turn = self._turn(state)
        if text:
            turn.state.notes = [*turn.state.notes, text][-MAX_NOTES:]
        if any(f.status == WAITING_EFFECT for f in turn.state.frames):
            # An effect is outstanding (a crash mid-call): don't start anything on top of it.
            turn.emit("turn.deferred", reason="an effect is still outstanding")
            return Turn(turn.state, turn.events, self.pending_effect(turn.state))
        for command in commands:
            turn.emit("command.received", **command.as_dict())
        if turn.state.handed_off and commands:
            turn.state.handed_off = False
        for command in processor.order(commands):
            processor.apply(turn, command)
        executor.advance(turn)
        return self._finish(turn)

    def resume(self, state: DialogueState, outcome: Outcome) -> Turn:
        """Continue after the runtime performed an effect (or an approval was decided)."""
        turn = self._turn(state)
        if isinstance(outcome, ApprovalDecision):
            self._decided(turn, outcome)
        else:
            frame = turn.state.frame(outcome.frame_id)
            if frame is None or frame.step_id != outcome.step_id:
                turn.emit("outcome.stale", frame=outcome.frame_id, step=outcome.step_id)
            elif isinstance(outcome, ToolResult):
                self._tool_done(turn, frame, outcome)
            elif isinstance(outcome, TimerStarted):
                frame.context.pop("effect", None)
                frame.status = WAITING_TIMER
                frame.context["timer"] = {"key": outcome.key, "due": outcome.due}
                turn.emit("timer.started", flow=frame.flow_id, step=frame.step_id, due=outcome.due)
            elif isinstance(outcome, TimerFired):
                self._timer_fired(turn, frame, outcome)
            elif isinstance(outcome, ApprovalHandle):
                frame.context.pop("effect", None)
                frame.status = WAITING_APPROVAL
                frame.context["approval_id"] = outcome.approval_id
                turn.emit("approval.requested", flow=frame.flow_id, approval=outcome.approval_id)
                turn.utter(
                    turn.response("approval_requested", assignee=outcome.assignee_label or "an approver"),
                    frame,
                )
            elif isinstance(outcome, GenerationResult):
                frame.context.pop("effect", None)
                self._generated(turn, frame, outcome)
        executor.advance(turn)
        return self._finish(turn)

    def _generated(self, turn: TurnContext, frame: Frame, outcome: GenerationResult) -> None:
        step = turn.flow(frame).step(frame.step_id)
        assert isinstance(step, GenerateStep)
        turn.emit(
            "generate.completed", flow=frame.flow_id, step=step.id, model=outcome.model, error=outcome.error
        )
        if step.review:
            # Held for a person: they approve (possibly editing it) before anything is sent.
            frame.context["draft"] = outcome.text
            executor.request(
                turn,
                frame,
                ApprovalRequest(
                    frame_id=frame.frame_id,
                    step_id=step.id,
                    flow_id=frame.flow_id,
                    key=f"{frame.frame_id}/{step.id}/review",
                    summary=f"Review this message before it is sent: {outcome.text}",
                    role="reviewer",
                    kind="review",
                    draft=outcome.text,
                ),
            )
            return
        self._deliver(turn, frame, step, outcome.text)

    def _deliver(self, turn: TurnContext, frame: Frame, step: GenerateStep, text: str) -> None:
        if step.into:
            turn.set_slot(frame, step.into, text, how="generated")
        if step.send:
            turn.utter(text, frame)
        frame.status = ACTIVE
        frame.step_id = turn.flow(frame).following(step.id)

    def _tool_done(self, turn: TurnContext, frame: Frame, outcome: ToolResult) -> None:
        step = turn.flow(frame).step(frame.step_id)
        assert isinstance(step, CallStep)
        pending = frame.context.get("pending", {})
        if outcome.ok:
            frame.context.pop("pending", None)
            frame.context.pop("error", None)
            turn.emit(
                "tool.completed", flow=frame.flow_id, step=step.id, tool=step.tool, result=outcome.result
            )
            if step.result:
                turn.set_slot(frame, step.result, outcome.result, how="tool")
            env = turn.env(frame, result=outcome.result)
            for slot, source in step.outputs.items():
                turn.set_slot(frame, slot, expressions.evaluate(source, env), how="tool")
            frame.status = ACTIVE
            frame.step_id = turn.flow(frame).following(step.id)
            return
        attempt = int(pending.get("attempt", 1))
        turn.emit(
            "tool.failed",
            flow=frame.flow_id,
            step=step.id,
            tool=step.tool,
            error=outcome.error,
            detail=outcome.detail,
            attempt=attempt,
        )
        if attempt <= step.retries:
            pending["attempt"] = attempt + 1
            frame.context["pending"] = pending
            if step.retry_delay:
                # Later, durably: the call waits on a timer (which survives restarts), the person
                # is told once, and hears the outcome in their conversation when it comes.
                seconds = parse_duration(step.retry_delay) * 2 ** (attempt - 1)
                key = f"{pending['key']}/retry/{attempt}"
                if attempt == 1:
                    turn.utter(
                        turn.response(
                            "tool_retry_later", flow=turn.flow(frame).title, delay=describe(seconds)
                        ),
                        frame,
                    )
                # The frame keeps both: the timer ("effect") comes first, then the call ("pending").
                executor.request(
                    turn, frame, Timer(frame.frame_id, step.id, frame.flow_id, key, seconds, "retry")
                )
                return
            turn.effect = _call_from_pending(frame, pending, step.retries)
            return
        frame.context.pop("pending", None)
        frame.context["error"] = outcome.error
        if step.on_error:
            frame.status = ACTIVE
            frame.step_id = step.on_error
            return
        title = turn.flow(frame).title
        turn.cancel_chain(frame)
        turn.push("pattern_internal_error", context={"flow_title": title, "error": outcome.error})

    def _timer_fired(self, turn: TurnContext, frame: Frame, outcome: TimerFired) -> None:
        timer = frame.context.get("timer") or {}
        if frame.status != WAITING_TIMER or timer.get("key") != outcome.key:
            turn.emit("outcome.stale", frame=outcome.frame_id, timer=outcome.key)
            return
        frame.context.pop("timer", None)
        turn.emit("timer.fired", flow=frame.flow_id, step=frame.step_id, key=outcome.key)
        # The flow goes on now, also when the person has started something else meanwhile: it comes
        # to the top of the stack, and what it covered continues after it.
        turn.raise_to_top(frame)
        step = turn.flow(frame).step(frame.step_id)
        if isinstance(step, CallStep):  # a delayed retry: make the call again
            frame.status = WAITING_EFFECT
            turn.effect = _call_from_pending(frame, frame.context["pending"], step.retries)
            return
        assert isinstance(step, WaitStep)
        frame.status = ACTIVE
        frame.step_id = turn.flow(frame).following(step.id)

    def _decided(self, turn: TurnContext, decision: ApprovalDecision) -> None:
        frame = next(
            (f for f in turn.state.frames if f.context.get("approval_id") == decision.approval_id), None
        )
        if frame is None or frame.status != WAITING_APPROVAL:
            turn.emit("outcome.stale", approval=decision.approval_id)
            return
        # As for a timer: the decided flow goes on now, also when the person has started something
        # else meanwhile; it comes to the top, and what it covered continues after it.
        turn.raise_to_top(frame)
        flow = turn.flow(frame)
        step = flow.step(frame.step_id)
        if isinstance(step, GenerateStep):
            turn.emit(
                "review.decided", flow=frame.flow_id, approval=decision.approval_id, outcome=decision.outcome
            )
            frame.context.pop("approval_id", None)
            draft = str(frame.context.pop("draft", ""))
            if decision.outcome == "approved":
                self._deliver(turn, frame, step, decision.text or draft)
            else:
                frame.status = ACTIVE
                frame.step_id = flow.following(step.id)
            return
        assert isinstance(step, ApprovalStep)
        turn.emit(
            "approval.decided",
            flow=frame.flow_id,
            approval=decision.approval_id,
            outcome=decision.outcome,
            comment=decision.comment,
            by=decision.by,
        )
        if step.result:
            turn.set_slot(
                frame,
                step.result,
                {"outcome": decision.outcome, "comment": decision.comment, "by": decision.by},
                how="approval",
            )
        frame.context.pop("approval_id", None)
        frame.status = ACTIVE
        key = f"approval_{decision.outcome}"
        target = {"rejected": step.on_rejected, "timeout": step.on_timeout}.get(decision.outcome)
        back = step.on_changes or _confirmation_before(flow, step.id)
        if decision.outcome == "changes_requested" and back:
            # Not the end: the requester amends what they asked for, and the amended request
            # goes back to the person who asked for the changes.
            turn.utter(turn.response(key, flow=flow.title, comment=decision.comment), frame)
            frame.context["revision"] = {
                "step": step.id,
                "approver": decision.by,
                "comment": decision.comment,
            }
            fields = _amendable(flow, frame, back)
            turn.utter(
                turn.response("approval_revise", fields=[title for _, title in fields]),
                frame,
                [
                    {"title": turn.response("change_field", field=title), "payload": f"change the {title}"}
                    for _, title in fields
                ],
            )
            frame.step_id = back
        elif decision.outcome == "approved":
            turn.utter(turn.response(key, flow=flow.title, comment=decision.comment), frame)
            frame.step_id = flow.following(step.id)
        elif target:
            turn.utter(turn.response(key, flow=flow.title, comment=decision.comment), frame)
            frame.step_id = target
        else:
            if key in ("approval_rejected", "approval_timeout", "approval_changes_requested"):
                turn.utter(turn.response(key, flow=flow.title, comment=decision.comment), frame)
            turn.cancel_chain(frame)

    # ---- views for other layers ----------------------------------------------------------
    def pending_effect(self, state: DialogueState) -> Effect | None:
        """The effect a frame is waiting for, rebuilt from state (used to recover after a crash)."""
        frame = next((f for f in reversed(state.frames) if f.status == WAITING_EFFECT), None)
        if frame is None:
            return None
        if frame.context.get("effect"):
            return effect_from_dict(frame.context["effect"])
        pending = frame.context.get("pending")
        if pending:
            step = self.pack.flows[frame.flow_id].step(frame.step_id)
            return _call_from_pending(frame, pending, step.retries if isinstance(step, CallStep) else 0)
        return None

    def expectation(self, state: DialogueState) -> Expectation:
        """What the next message is expected to answer, for understanding."""
        turn = TurnContext(self.pack, self.renderer, state)
        frame = state.top
        active = tuple(f.flow_id for f in state.frames)
        user_frame = turn.user_frame()
        if frame is None or user_frame is None:
            return Expectation(NOTHING, active_flows=active)
        flow = turn.flow(user_frame)
        slot_options = {
            name: turn.options(user_frame, slot) for name, slot in flow.slots.items() if slot.is_choice
        }
        base: dict[str, Any] = {
            "flow_id": user_frame.flow_id,
            "flow_slots": dict(flow.slots),
            "filled": dict(user_frame.slots),
            "slot_options": slot_options,
            "active_flows": active,
            "notes": tuple(state.notes),
            "labels": turn.choice_labels(user_frame),
        }
        if user_frame.status == WAITING_INPUT:
            step = flow.step(user_frame.step_id)
            if isinstance(step, CollectStep):
                slot = flow.slots[step.slot]
                return Expectation(SLOT, slot=slot, options=slot_options.get(step.slot, ()), **base)
        if user_frame.status == WAITING_CONFIRM:
            return Expectation(CONFIRMATION, **base)
        if user_frame.status == WAITING_APPROVAL:
            return Expectation(APPROVAL, **base)
        return Expectation(NOTHING, **base)


def _confirmation_before(flow: Flow, step_id: str) -> str | None:
    """The last confirmation before ``step_id``: where the requester sees what they asked for."""
    ids = [s.id for s in flow.steps]
    before = flow.steps[: ids.index(step_id)] if step_id in ids else []
    return next((s.id for s in reversed(before) if isinstance(s, ConfirmStep)), None)


def _amendable(flow: Flow, frame: Frame, until: str) -> list[tuple[str, str]]:
    """(slot, its title) of the filled slots collected before ``until``, in the order asked."""
    ids = [s.id for s in flow.steps]
    before = flow.steps[: ids.index(until)] if until in ids else flow.steps
    found: list[tuple[str, str]] = []
    for step in before:
        if isinstance(step, CollectStep) and frame.slots.get(step.slot) is not None:
            slot = flow.slots[step.slot]
            title = (slot.description or step.slot.replace("_", " ")).removeprefix("the ")
            if (step.slot, title) not in found:
                found.append((step.slot, title))
    return found


def _call_from_pending(frame: Frame, pending: dict[str, Any], retries: int) -> ToolCall:
    """The tool call a frame recorded before it was made: same arguments, same idempotency key."""
    return ToolCall(
        frame_id=frame.frame_id,
        step_id=frame.step_id,
        flow_id=frame.flow_id,
        tool=pending["tool"],
        args=pending["args"],
        key=pending["key"],
        attempt=int(pending.get("attempt", 1)),
        retries=retries,
    )
