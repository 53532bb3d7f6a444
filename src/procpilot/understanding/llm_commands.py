"""The LLM command generator: a capable model reads the conversation and writes commands.

The prompt holds the recent conversation, the active flow with its filled slots and the question
being asked, and the flows that could start. The output is constrained to a JSON schema of
commands; anything invalid (unknown flow or slot, malformed JSON, a model failure) is rejected and
the rule-based understanding answers instead, so packs and tests never depend on which ran.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from procpilot.domain.commands import COMMANDS, Command, command_from_dict
from procpilot.domain.errors import UserError
from procpilot.domain.expectation import CONFIRMATION, SLOT, Expectation
from procpilot.domain.flows import Pack
from procpilot.llm import ChatRequest, ChatResponse, Message, ModelError, Sampling

log = structlog.get_logger(__name__)

Ask = Callable[[ChatRequest], ChatResponse]

SYSTEM = """You turn a customer's latest message into commands for a business assistant.
Commands:
- start_flow {flow}: the person wants to start one of the available flows
- set_slot {slot, value}: the person gave a value for a slot of the active flow
- correct_slot {slot, value}: the person changes a value they gave before
- cancel_flow: the person wants to stop the active flow
- confirm / deny: yes or no to a pending confirmation
- ask_knowledge {query}: a question about policies or facts
- chitchat {kind}: greet, thanks or bye
- human_handoff: the person asks for a human
- clarify {candidates}: the message could mean several flows
- cannot_handle: none of the above
Use only flow ids and slot names listed below. Answer with JSON only."""


def command_schema(pack: Pack) -> dict[str, Any]:
    """The JSON schema the model's output is constrained to."""
    flows = sorted(f.id for f in pack.user_flows())
    slots = sorted({name for f in pack.user_flows() for name in f.slots})
    item = {
        "type": "object",
        "properties": {
            "command": {"enum": list(COMMANDS)},
            "flow": {"enum": flows},
            "slot": {"enum": slots or ["none"]},
            "value": {"type": "string"},
            "query": {"type": "string"},
            "kind": {"enum": ["greet", "thanks", "bye"]},
            "candidates": {"type": "array", "items": {"enum": flows}, "maxItems": 3},
        },
        "required": ["command"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"commands": {"type": "array", "items": item, "minItems": 1, "maxItems": 4}},
        "required": ["commands"],
        "additionalProperties": False,
    }


# Two ways to ask. ``instructed``: the instructions above and the pack's flows described, for a
# general model. ``tuned``: a short prompt for a model fine-tuned on this task (see
# ``procpilot.training``), which learnt the commands from examples: fewer tokens, so a 135M
# model trains in seconds a step on CPU and answers fast.
INSTRUCTED = "instructed"
TUNED = "tuned"
PROMPT_FORMATS = (INSTRUCTED, TUNED)
_TUNED_SYSTEM = "Commands for the latest message, as JSON."


def command_context(expectation: Expectation) -> dict[str, Any]:
    """What the generator reads of the dialogue's state, as plain JSON (stored with each turn, so
    a recorded turn can be turned into a training example exactly as the model would see it)."""
    context: dict[str, Any] = {"kind": expectation.kind, "flow": expectation.flow_id}
    if expectation.flow_id:
        context["filled"] = json.loads(
            json.dumps(
                {
                    k: v
                    for k, v in expectation.filled.items()
                    if k in expectation.flow_slots and v is not None
                },
                default=str,
            )
        )
        context["flow_slots"] = list(expectation.flow_slots)
    if expectation.kind == SLOT and expectation.slot is not None:
        context["slot"] = expectation.slot.name
        context["slot_type"] = expectation.slot.type
        context["options"] = [
            [o.label, json.loads(json.dumps(o.value, default=str))] for o in expectation.options[:12]
        ]
    if expectation.active_flows:
        context["active_flows"] = list(expectation.active_flows)
    return context


def expectation_from_context(pack: Pack, context: dict[str, Any]) -> Expectation:
    """The part of an Expectation that checking a model's commands needs, from a stored context."""
    flow = pack.flows.get(str(context.get("flow"))) if context.get("flow") else None
    return Expectation(
        kind=str(context.get("kind") or "nothing"),
        flow_id=flow.id if flow else None,
        flow_slots={n: flow.slots[n] for n in context.get("flow_slots") or () if n in flow.slots}
        if flow
        else {},
        filled=dict(context.get("filled") or {}),
        active_flows=tuple(context.get("active_flows") or ()),
    )


def prompt_text(
    pack: Pack,
    text: str,
    context: dict[str, Any],
    history: Sequence[tuple[str, str]],
    prompt_format: str = INSTRUCTED,
) -> str:
    """The user part of the prompt for ``text`` in ``context`` (see ``command_context``)."""
    tuned = prompt_format == TUNED
    flow_id = context.get("flow")
    lines = []
    if tuned:
        lines.append("Flows: " + ", ".join(f.id for f in pack.user_flows() if f.examples))
    else:
        lines.append("Available flows:")
        lines += [f"- {f.id}: {f.description or f.title}" for f in pack.user_flows() if f.examples]
    if flow_id and flow_id in pack.flows:
        flow = pack.flows[flow_id]
        filled = json.dumps(context.get("filled") or {}, ensure_ascii=False, default=str)
        slots = ", ".join(context.get("flow_slots") or flow.slots) or "none"
        if tuned:
            lines.append(f"Active: {flow.id}; slots: {slots}; filled: {filled}")
        else:
            lines.append(f"Active flow: {flow.id} ({flow.description or flow.title})")
            lines.append(f"Filled slots: {filled}")
            lines.append(f"Slots of the active flow: {slots}")
    if context.get("kind") == SLOT and context.get("slot"):
        options = ", ".join(f"{label} (value {value})" for label, value in context.get("options") or [])
        if tuned:
            lines.append(
                f"Asked: {context['slot']} ({context.get('slot_type')})"
                + (f"; options: {options}" if options else "")
            )
        else:
            lines.append(
                f"The assistant just asked for slot '{context['slot']}' ({context.get('slot_type')})."
                + (f" Options: {options}" if options else "")
            )
    if context.get("kind") == CONFIRMATION:
        lines.append(
            "Asked: confirm (yes or no)"
            if tuned
            else "The assistant just asked the person to confirm (yes or no)."
        )
    recent = list(history[-2:] if tuned else history[-6:])
    if recent:
        lines.append("Conversation so far:")
        lines += [f"{role}: {content[:300] if tuned else content}" for role, content in recent]
    lines.append(f"Latest message: {text}")
    return "\n".join(lines)


def prompt_messages(prompt: str, prompt_format: str = INSTRUCTED) -> tuple[Message, ...]:
    system = _TUNED_SYSTEM if prompt_format == TUNED else SYSTEM
    return (Message("system", system), Message("user", prompt))


def commands_json(commands: Sequence[dict[str, Any]]) -> str:
    """The model's answer for ``commands`` (dicts as ``Command.as_dict`` gives them), in the form
    the schema constrains it to: what a tuned model is trained to write."""
    out = []
    for command in commands:
        name = command.get("command")
        row = {"command": name}
        for key in _FIELDS.get(str(name), ()):
            if key in command and command[key] is not None:
                value = command[key]
                row[key] = list(value) if key == "candidates" else value if key in _NAMES else _as_text(value)
        out.append(row)
    return json.dumps({"commands": out}, ensure_ascii=False)


_NAMES = ("flow", "slot", "kind")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


_FIELDS = {
    "start_flow": ("flow",),
    "set_slot": ("slot", "value"),
    "correct_slot": ("slot", "value"),
    "ask_knowledge": ("query",),
    "chitchat": ("kind",),
    "clarify": ("candidates",),
}


class LLMCommandGenerator:
    """Commands from a language model. ``ask`` runs one request (and records its usage)."""

    def __init__(
        self, pack: Pack, ask: Ask, *, max_tokens: int = 160, prompt_format: str = INSTRUCTED
    ) -> None:
        if prompt_format not in PROMPT_FORMATS:
            raise UserError(f"unknown prompt format {prompt_format!r}; known: {', '.join(PROMPT_FORMATS)}")
        self.pack = pack
        self.ask = ask
        self.max_tokens = max_tokens
        self.prompt_format = prompt_format
        self.schema = command_schema(pack)

    def prompt(self, text: str, expectation: Expectation, history: Sequence[tuple[str, str]]) -> str:
        return prompt_text(self.pack, text, command_context(expectation), history, self.prompt_format)

    def understand(
        self, text: str, expectation: Expectation, history: Sequence[tuple[str, str]] = ()
    ) -> list[Command] | None:
        """Commands, or None when the model's answer cannot be used (the caller falls back)."""
        return self.answer(self.prompt(text, expectation, history), expectation)

    def answer(self, prompt: str, expectation: Expectation) -> list[Command] | None:
        """The model's commands for a prompt built by ``prompt_text``, checked against the flows."""
        request = ChatRequest(
            messages=prompt_messages(prompt, self.prompt_format),
            json_schema=self.schema,
            sampling=Sampling(temperature=0.0, max_tokens=self.max_tokens),
        )
        try:
            data = self.ask(request).data
        except ModelError as error:
            log.warning("commands.model_failed", error=str(error))
            return None
        try:
            return self._commands(data, expectation)
        except UserError as error:
            log.info("commands.rejected", reason=str(error), output=data)
            return None

    def _active_slot(self, slot: str, expectation: Expectation) -> bool:
        active = [self.pack.flows[f] for f in expectation.active_flows if f in self.pack.flows]
        return slot in expectation.flow_slots or any(slot in flow.slots for flow in active)

    def _commands(self, data: Any, expectation: Expectation) -> list[Command]:
        commands = []
        for raw in data.get("commands", []) if isinstance(data, dict) else []:
            name = raw.get("command")
            fields = {k: raw[k] for k in _FIELDS.get(name, ()) if k in raw}
            missing = [k for k in _FIELDS.get(name, ()) if k not in raw and k != "kind"]
            if missing:
                raise UserError(f"{name} without {', '.join(missing)}")
            if name in ("set_slot", "correct_slot") and not self._active_slot(fields["slot"], expectation):
                raise UserError(f"slot {fields['slot']!r} is not a slot of an active flow")
            if name == "start_flow" and (
                fields["flow"] not in self.pack.flows or self.pack.flows[fields["flow"]].pattern
            ):
                raise UserError(f"unknown flow {fields['flow']!r}")
            commands.append(command_from_dict({"command": name, **fields}))
        if not commands:
            raise UserError("no commands")
        return commands


class HybridUnderstanding:
    """The LLM generator first; the rule-based understanding whenever its answer is unusable."""

    def __init__(self, generator: LLMCommandGenerator, fallback: Any) -> None:
        self.generator = generator
        self.fallback = fallback
        self.last_source = "model"  # who understood the last message: "model" or "rules"

    def understand(
        self, text: str, expectation: Expectation, history: Sequence[tuple[str, str]] = ()
    ) -> list[Command]:
        commands = self.generator.understand(text, expectation, history)
        if commands is None:
            self.last_source = "rules"
            return list(self.fallback.understand(text, expectation, history))
        self.last_source = "model"
        return commands
