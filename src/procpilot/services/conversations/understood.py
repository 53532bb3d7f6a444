"""What the assistant had understood when it handed a conversation to a person, read from the
conversation's events: the requests it was working on, the values it had, its last commands."""

from __future__ import annotations

from typing import Any

from procpilot.domain.flows import Pack
from procpilot.services.processes.readable import value_text

MAX_COMMANDS = 6


def understood(events: list[dict[str, Any]], pack: Pack) -> dict[str, Any]:
    """``{"reason", "requests": [{"flow", "title", "slots": [{"slot", "title", "value"}]}],
    "commands"}``: the requests open when the handoff came (or the last one started), each with
    the values it had, in the pack's words."""
    frames: dict[str, dict[str, Any]] = {}
    open_before: list[str] = []
    commands: list[dict[str, Any]] = []
    reason = ""
    for event in events:
        kind, data = event["kind"], event.get("data") or {}
        if kind == "flow.started" and not data.get("pattern") and data.get("frame"):
            frames[data["frame"]] = {"flow": data.get("flow"), "values": {}, "open": True}
        elif kind == "slot.set" and data.get("frame") in frames:
            frames[data["frame"]]["values"][data.get("slot")] = data.get("value")
        elif kind in ("flow.completed", "flow.cancelled") and data.get("frame") in frames:
            frames[data["frame"]]["open"] = False
        elif kind == "command.received":
            commands.append({k: v for k, v in data.items()})
        elif kind == "handoff.requested":
            reason = str(data.get("reason") or "")
            open_before = [f for f, frame in frames.items() if frame["open"]]
    chosen = open_before or list(frames)[-1:]
    requests = []
    for frame_id in chosen:
        frame = frames[frame_id]
        flow = pack.flows.get(str(frame["flow"]))
        if flow is None or flow.pattern:
            continue
        values = []
        for slot, value in frame["values"].items():
            if value is None or slot not in flow.slots:
                continue
            definition = flow.slots[slot]
            values.append({"slot": slot, "title": definition.description or slot, "value": value_text(value)})
        requests.append({"flow": flow.id, "title": flow.title, "slots": values})
    return {"reason": reason, "requests": requests, "commands": commands[-MAX_COMMANDS:]}
