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
from procpilot.llm import ChatRequest, ChatResponse, ModelError, Sampling

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

    def __init__(self, pack: Pack, ask: Ask, *, max_tokens: int = 160) -> None:
        self.pack = pack
        self.ask = ask
        self.max_tokens = max_tokens
        self.schema = command_schema(pack)

    def prompt(self, text: str, expectation: Expectation, history: Sequence[tuple[str, str]]) -> str:
        lines = ["Available flows:"]
        for flow in self.pack.user_flows():
            if flow.examples:
                lines.append(f"- {flow.id}: {flow.description or flow.title}")
        if expectation.flow_id:
            flow = self.pack.flows[expectation.flow_id]
            lines.append(f"Active flow: {flow.id} ({flow.description or flow.title})")
            filled = {k: v for k, v in expectation.filled.items() if k in flow.slots and v is not None}
            lines.append(f"Filled slots: {json.dumps(filled, default=str)}")
            lines.append(f"Slots of the active flow: {', '.join(flow.slots) or 'none'}")
        if expectation.kind == SLOT and expectation.slot is not None:
            options = ", ".join(f"{o.label} (value {o.value})" for o in expectation.options[:12])
            lines.append(
                f"The assistant just asked for slot '{expectation.slot.name}' ({expectation.slot.type})."
                + (f" Options: {options}" if options else "")
            )
        if expectation.kind == CONFIRMATION:
            lines.append("The assistant just asked the person to confirm (yes or no).")
        if history:
            lines.append("Conversation so far:")
            lines += [f"{role}: {content}" for role, content in history[-6:]]
        lines.append(f"Latest message: {text}")
        return "\n".join(lines)

    def understand(
        self, text: str, expectation: Expectation, history: Sequence[tuple[str, str]] = ()
    ) -> list[Command] | None:
        """Commands, or None when the model's answer cannot be used (the caller falls back)."""
        request = ChatRequest.of(
            ("system", SYSTEM),
            ("user", self.prompt(text, expectation, history)),
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
