"""Events: the append-only record of what happened in a conversation.

An event is data: a ``kind`` with dotted name and a JSON-able ``data`` dict. The engine returns
events; storage appends them; audit, metrics and datasets read them.

Kinds the engine emits:
    command.received     flow.started       flow.completed     flow.cancelled
    flow.interrupted     flow.resumed       slot.set           slot.rejected
    step.started         bot.uttered        tool.requested     tool.completed
    tool.failed          approval.requested approval.decided   handoff.requested
    knowledge.requested  generate.requested
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened; ``data`` holds plain JSON values only."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "data": self.data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(kind=str(data["kind"]), data=dict(data.get("data") or {}))
