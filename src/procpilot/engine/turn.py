"""The working context of one engine turn: the state being changed, the events, and helpers
that both the command processor and the step executor need."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from procpilot.domain import expressions
from procpilot.domain.errors import ExpressionError, SlotValueError
from procpilot.domain.events import Event
from procpilot.domain.flows import Flow, Pack
from procpilot.domain.slots import Option, SlotDef, coerce
from procpilot.domain.state import ACTIVE, WAITING_STATES, DialogueState, Frame
from procpilot.domain.steps import CollectStep
from procpilot.engine.effects import Effect
from procpilot.engine.templates import Renderer

DEFAULT_RESPONSES = {
    "approval_requested": "I've sent this to {{ assignee }} for approval. I'll tell you here when it's decided.",
    "approval_approved": "Good news: your request ({{ flow }}) was approved.{% if comment %} Comment: {{ comment }}{% endif %}",
    "approval_rejected": "Your request ({{ flow }}) was rejected.{% if comment %} Reason: {{ comment }}{% endif %}",
    "approval_changes_requested": "Your request ({{ flow }}) needs changes: {{ comment }}",
    "approval_revise": "Tell me what to change, with the new value if you know it, or pick it below. Say yes to send it back as it is, or no to withdraw it.",
    "change_field": "Change the {{ field }}",
    "approval_amended": "Amended after your comment \u201c{{ comment }}\u201d. {{ summary }}",
    "approval_timeout": "Your request ({{ flow }}) expired without a decision.",
    "tool_retry_later": "The system for {{ flow }} is not answering. I'll try again in {{ delay }} and tell you here how it went.",
    "next_request": "Now your other request: {{ flow }}.",
    "which_option": "Which one do you mean: {{ labels[:-1] | join(', ') }} or {{ labels[-1] }}?",
}


# What the person's earlier words say about a slot: (slot, its options now, the notes, the labels
# of the frame's filled choices) -> a value, or None. Understanding provides it; it must be pure.
Recall = Callable[[SlotDef, tuple[Option, ...], Sequence[str], Mapping[str, str]], Any]


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` ("order.item_list") inside nested dicts, or None."""
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


@dataclass
class TurnContext:
    """Mutable scratchpad for one turn. The engine copies the state before creating it."""

    pack: Pack
    renderer: Renderer
    state: DialogueState
    events: list[Event] = field(default_factory=list)
    effect: Effect | None = None
    recall: Recall | None = None
    request_ended: bool = False  # a flow the person started has ended in this turn
    started_request: bool = False  # a flow the person asked for was started in this turn

    # ---- lookups -------------------------------------------------------------------------
    def flow(self, frame: Frame) -> Flow:
        return self.pack.flows[frame.flow_id]

    def user_frame(self) -> Frame | None:
        """The topmost frame of a flow a person started (patterns skipped)."""
        for frame in reversed(self.state.frames):
            if not self.pack.flows[frame.flow_id].pattern:
                return frame
        return None

    def env(self, frame: Frame | None, **extra: Any) -> dict[str, Any]:
        memory = self.state.memory
        env: dict[str, Any] = {
            "slots": dict(frame.slots) if frame else {},
            "conversation": memory,
            "user": {"id": self.state.caller or memory.get("user_id"), "roles": list(self.state.roles)},
            "context": dict(frame.context) if frame else {},
        }
        env.update(extra)
        return env

    def render(self, template: str, frame: Frame | None, **extra: Any) -> str:
        return self.renderer.render(template, self.env(frame, **extra))

    def response(self, key: str, **values: Any) -> str:
        template = self.pack.responses.get(key, DEFAULT_RESPONSES[key])
        return self.renderer.render(template, values)

    def capabilities(self) -> str:
        titles = [f.title for f in self.pack.user_flows() if f.examples and f.may_start(self.state.roles)]
        if not titles:
            return "with questions"
        return ", ".join(titles[:-1]) + (" or " if len(titles) > 1 else "") + titles[-1]

    # ---- output --------------------------------------------------------------------------
    def emit(self, kind: str, /, **data: Any) -> None:
        self.events.append(Event(kind, data))

    def utter(
        self, text: str, frame: Frame | None = None, buttons: list[dict[str, str]] | None = None
    ) -> None:
        if not text:
            return
        data: dict[str, Any] = {"text": text}
        if buttons:
            data["buttons"] = buttons
        if frame is not None:
            data["flow"] = frame.flow_id
        self.emit("bot.uttered", **data)

    # ---- stack ---------------------------------------------------------------------------
    def push(
        self, flow_id: str, *, parent: str | None = None, context: dict[str, Any] | None = None
    ) -> Frame:
        flow = self.pack.flows[flow_id]
        below = self.state.top
        if below is not None and not flow.pattern and below.status in WAITING_STATES:
            below.context["interrupted"] = True
            self.emit("flow.interrupted", flow=below.flow_id, frame=below.frame_id)
        slots = {name: slot.initial for name, slot in flow.slots.items() if slot.initial is not None}
        frame = Frame(
            frame_id=self.state.new_frame_id(),
            flow_id=flow_id,
            step_id=flow.first(),
            status=ACTIVE,
            slots=slots,
            context=dict(context or {}),
            parent=parent,
        )
        self.state.frames.append(frame)
        self.emit("flow.started", flow=flow_id, frame=frame.frame_id, pattern=flow.pattern, parent=parent)
        if not flow.pattern:
            for slot in flow.slots.values():
                if not slot.options_from:
                    self.recall_slot(frame, slot)
        return frame

    def recall_slot(self, frame: Frame, slot: SlotDef) -> str | None:
        """Fill ``slot`` from what the person said earlier, once per set of options. Returns why a
        recalled value does not fit (to tell them), or None."""
        if self.recall is None or not self.state.notes or frame.slots.get(slot.name) is not None:
            return None
        options = self.options(frame, slot)
        if slot.options_from and not options:
            return None
        said = zlib.crc32("\n".join(self.state.notes).encode())
        mark = f"{said}:{'|'.join(str(o.value) for o in options)}"
        recalled = frame.context.setdefault("recalled", {})
        if recalled.get(slot.name) == mark:
            return None
        recalled[slot.name] = mark
        value = self.recall(slot, options, tuple(self.state.notes), self.choice_labels(frame))
        if value is None:
            return None
        canonical, problem = self.check_value(frame, slot, value)
        if problem is not None:
            self.emit("slot.rejected", flow=frame.flow_id, slot=slot.name, value=value, reason=problem)
            return problem
        if canonical in frame.context.get("discarded", {}).get(slot.name, []):
            return None
        self.set_slot(frame, slot.name, canonical, how="recalled")
        return None

    def raise_to_top(self, frame: Frame) -> None:
        """Move ``frame`` and the flows that called it to the top of the stack, keeping their order;
        the frame they now cover is told to continue afterwards."""
        chain = [frame]
        while chain[0].parent and (parent := self.state.frame(chain[0].parent)) is not None:
            chain.insert(0, parent)
        if self.state.frames[-len(chain) :] == chain:
            return
        self.state.frames = [f for f in self.state.frames if f not in chain]
        below = self.state.top
        if below is not None and below.status in WAITING_STATES:
            below.context["interrupted"] = True
            self.emit("flow.interrupted", flow=below.flow_id, frame=below.frame_id)
        self.state.frames.extend(chain)

    def pop(self, frame: Frame, kind: str) -> None:
        """Remove ``frame`` (completed or cancelled) and wake what was below it."""
        self.state.frames = [f for f in self.state.frames if f.frame_id != frame.frame_id]
        if not self.pack.flows[frame.flow_id].pattern and not frame.parent:
            self.request_ended = True
        self.emit(f"flow.{kind}", flow=frame.flow_id, frame=frame.frame_id)
        top = self.state.top
        if top is not None and top.status in WAITING_STATES:
            top.context["reprompt"] = True

    def cancel_chain(self, frame: Frame) -> list[Frame]:
        """Cancel ``frame``, everything above it, and the flows that called it. Returns them."""
        index = self.state.frames.index(frame)
        doomed = self.state.frames[index:]
        parent_id = frame.parent
        while parent_id:
            parent = self.state.frame(parent_id)
            if parent is None:
                break
            doomed.insert(0, parent)
            parent_id = parent.parent
        for victim in reversed(doomed):
            if victim in self.state.frames:
                if not self.pack.flows[victim.flow_id].pattern:
                    self.request_ended = True
                self.state.frames.remove(victim)
                self.emit("flow.cancelled", flow=victim.flow_id, frame=victim.frame_id)
        top = self.state.top
        if top is not None and top.status in WAITING_STATES:
            top.context["reprompt"] = True
        return doomed

    # ---- slots ---------------------------------------------------------------------------
    def options(self, frame: Frame, slot: SlotDef) -> tuple[Option, ...]:
        if not slot.options_from:
            return slot.options
        data = lookup(frame.slots, slot.options_from)
        if not isinstance(data, list):
            return ()
        out = []
        for item in data:
            if isinstance(item, dict):
                value = item.get(slot.option_value or "value")
                label = self.render(slot.option_label, frame, item=item) if slot.option_label else str(value)
            else:
                value, label = item, str(item)
            out.append(Option(value, label))
        return tuple(out)

    def choice_labels(self, frame: Frame) -> dict[str, str]:
        """The labels of the frame's filled choices, several of one slot joined by `` | ``: what
        understanding reads "the new option of the keyboard" against."""
        out = {}
        for name, slot in self.flow(frame).slots.items():
            value = frame.slots.get(name)
            if not slot.is_choice or value is None:
                continue
            values = value if isinstance(value, list) else [value]
            labels = [o.label for o in self.options(frame, slot) if o.value in values]
            if labels:
                out[name] = " | ".join(labels)
        return out

    def check_value(self, frame: Frame, slot: SlotDef, value: Any) -> tuple[Any, str | None]:
        """Coerce and validate ``value`` for ``slot``: (canonical, None) or (None, why not)."""
        try:
            canonical = coerce(slot, value, self.options(frame, slot) if slot.options_from else None)
        except SlotValueError as error:
            if slot.type == "text" and isinstance(value, str):
                # The pack's own words say best what is wrong ("Please give exactly four digits").
                told = self._validations(frame, slot, value)
                if told:
                    return None, told
            return None, str(error)
        told = self._validations(frame, slot, canonical)
        return (None, told) if told else (canonical, None)

    def _validations(self, frame: Frame, slot: SlotDef, value: Any) -> str | None:
        """The message of the first ``validate`` check of the slot's collect step that fails."""
        for step in self.flow(frame).steps:
            if isinstance(step, CollectStep) and step.slot == slot.name:
                trial = self.env(frame)
                trial["slots"][slot.name] = value
                for validation in step.validations:
                    try:
                        passed = expressions.truthy(validation.check, trial)
                    except ExpressionError as error:
                        return f"cannot check {slot.name}: {error}"
                    if not passed:
                        return self.renderer.render(validation.message, trial)
        return None

    def set_slot(self, frame: Frame, name: str, value: Any, *, how: str = "set") -> None:
        old = frame.slots.get(name)
        if value is None and old is not None:
            # A value the flow threw away (a failed lookup) is not recalled again.
            used = frame.context.setdefault("discarded", {}).setdefault(name, [])
            if old not in used:
                used.append(old)
        frame.slots[name] = value
        self.emit("slot.set", flow=frame.flow_id, frame=frame.frame_id, slot=name, value=value, how=how)
