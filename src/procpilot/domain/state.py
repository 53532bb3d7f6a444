"""The dialogue state of one conversation: a stack of flow frames plus conversation memory.

State is plain data (``as_dict``/``from_dict`` round-trip through JSON), so it is stored as one
document per conversation and the engine can work on a copy.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

ACTIVE = "active"
WAITING_INPUT = "waiting_input"
WAITING_CONFIRM = "waiting_confirm"
WAITING_APPROVAL = "waiting_approval"
WAITING_EFFECT = "waiting_effect"
WAITING_TIMER = "waiting_timer"  # a wait step, or a tool call's delayed retry
WAITING_STATES = (WAITING_INPUT, WAITING_CONFIRM, WAITING_APPROVAL, WAITING_EFFECT, WAITING_TIMER)


@dataclass
class Frame:
    """One running flow. ``step_id`` is the current step; ``parent`` is the frame that called it."""

    frame_id: str
    flow_id: str
    step_id: str
    status: str = ACTIVE
    slots: dict[str, Any] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Frame:
        return cls(**data)


@dataclass
class DialogueState:
    """Everything the engine needs to know about a conversation between two messages."""

    frames: list[Frame] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    caller: str | None = None  # the signed-in person writing, when the channel knows them
    next_frame: int = 1
    failures: int = 0
    handed_off: bool = False
    # The pack version (digest of its flows) that the flows on the stack run under; set when the
    # stack fills, cleared when it empties, so a reload changes only conversations started after it.
    pack_digest: str | None = None
    # What the person said since their current request began: facts in it fill slots of flows
    # and sub-flows that start later, and choices whose options were not known when it was said.
    notes: list[str] = field(default_factory=list)
    # Requests asked for together and not started yet: {"flow", "note"}, done one after another.
    queue: list[dict[str, Any]] = field(default_factory=list)

    @property
    def top(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def frame(self, frame_id: str) -> Frame | None:
        for frame in self.frames:
            if frame.frame_id == frame_id:
                return frame
        return None

    def new_frame_id(self) -> str:
        frame_id = f"f{self.next_frame}"
        self.next_frame += 1
        return frame_id

    def copy(self) -> DialogueState:
        return copy.deepcopy(self)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        data = dict(data)
        frames = [Frame.from_dict(f) for f in data.pop("frames", [])]
        return cls(frames=frames, **data)
