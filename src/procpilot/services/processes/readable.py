"""A timeline in words a person understands: each event as a sentence (a key of the interface
text and its values), with the names of people, flows, slots and tools from the pack, values
formatted, and the technical record kept beside it for whoever unfolds it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from procpilot.domain.flows import Flow, Pack

Names = Callable[[str | None], str]
MAX_TEXT = 160


def value_text(value: Any) -> str:
    """A slot's value for a person: dates and amounts as written, records as their fields' count."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        if "amount" in value and isinstance(value.get("currency"), str):
            # Money: the amount is a number, or the decimal string the money slot stores.
            try:
                return f"{float(value['amount']):,.2f} {value['currency']}"
            except (TypeError, ValueError):
                return f"{value['amount']} {value['currency']}"
        for key in ("name", "title", "label", "display_name", "id"):
            if isinstance(value.get(key), str | int):
                return str(value[key])
        return f"{len(value)} fields"
    if isinstance(value, list):
        if all(isinstance(v, str | int | float) for v in value) and len(value) <= 5:
            return ", ".join(value_text(v) for v in value)
        return f"{len(value)} items"
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _slot_label(flow: Flow | None, slot: str) -> str:
    definition = flow.slots.get(slot) if flow else None
    return (definition.description or slot.replace("_", " ")) if definition else slot.replace("_", " ")


def _step(flow: Flow | None, step_id: str) -> Any:
    if flow is None:
        return None
    return next((s for s in flow.steps if getattr(s, "id", None) == step_id), None)


def sentence(entry: dict[str, Any], pack: Pack | None, flow_id: str, names: Names) -> dict[str, Any]:
    """``{"key": ..., "args": {...}, "technical": bool}`` for one timeline entry."""
    kind, data = entry["kind"], entry.get("data") or {}
    flow = pack.flows.get(str(data.get("flow") or flow_id)) if pack else None
    title = flow.title if flow else str(data.get("flow") or flow_id)
    if kind == "flow.started":
        return {"key": "tl_flow_started", "args": {"flow": title}}
    if kind in ("flow.completed", "flow.cancelled"):
        return {"key": "tl_" + kind.split(".")[1], "args": {"flow": title}}
    if kind == "slot.set":
        return {
            "key": "tl_slot_set",
            "args": {
                "slot": _slot_label(flow, str(data.get("slot"))),
                "value": value_text(data.get("value")),
            },
        }
    if kind == "step.started":
        step_type = str(data.get("type") or "")
        step = _step(flow, str(data.get("step") or ""))
        if step_type == "collect" and step is not None and getattr(step, "slot", None):
            return {"key": "tl_asked_for", "args": {"slot": _slot_label(flow, step.slot)}, "technical": True}
        if step_type == "call" and step is not None and getattr(step, "tool", None):
            return {
                "key": "tl_calling",
                "args": {"tool": str(step.tool).replace("_", " ")},
                "technical": True,
            }
        return {"key": "tl_step", "args": {"step": step_type or str(data.get("step"))}, "technical": True}
    if kind.startswith("tool."):
        tool = str(data.get("tool") or "").replace("_", " ")
        if kind == "tool.requested":
            return {"key": "tl_calling", "args": {"tool": tool}, "technical": True}
        if kind == "tool.failed":
            error = data.get("error") or data.get("detail") or ""
            return {"key": "tl_tool_failed", "args": {"tool": tool, "error": value_text(error)}}
        return {"key": "tl_tool_done", "args": {"tool": tool}}
    if kind == "confirmation.answered":
        return {"key": "tl_confirmed" if data.get("yes") else "tl_declined", "args": {}}
    if kind == "approval.requested":
        return {"key": "tl_approval_requested", "args": {}}
    if kind == "approval.decided":
        comment = str(data.get("comment") or "")
        return {
            "key": "tl_approval_decided",
            "args": {
                "who": names(data.get("by")),
                "outcome": str(data.get("outcome") or ""),
                "comment": f": “{comment}”" if comment else "",
            },
        }
    if kind == "bot.uttered":
        return {"key": "tl_said", "args": {"text": value_text(data.get("text"))}}
    if kind == "command.received":
        return {"key": "tl_understood", "args": {"command": str(data.get("command"))}, "technical": True}
    if kind == "feedback.given":
        return {
            "key": "tl_rated",
            "args": {
                "who": names(data.get("user_id")),
                "rating": "👍" if data.get("rating") == "up" else "👎",
                "comment": f": “{data['comment']}”" if data.get("comment") else "",
            },
        }
    return {"key": "tl_other", "args": {"kind": kind}, "technical": True}
