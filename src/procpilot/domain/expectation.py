"""What the dialogue is waiting for, as understanding needs to know it to read the next message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procpilot.domain.slots import Option, SlotDef

NOTHING = "nothing"
SLOT = "slot"
CONFIRMATION = "confirmation"
APPROVAL = "approval"


@dataclass(frozen=True)
class Expectation:
    """``kind`` is nothing, slot, confirmation or approval. For a slot, ``slot`` and its resolved
    ``options``; ``flow_slots`` are all slots of the active flow, ``filled`` their current values."""

    kind: str = NOTHING
    flow_id: str | None = None
    slot: SlotDef | None = None
    options: tuple[Option, ...] = ()
    flow_slots: dict[str, SlotDef] = field(default_factory=dict)
    filled: dict[str, Any] = field(default_factory=dict)
    slot_options: dict[str, tuple[Option, ...]] = field(default_factory=dict)
    active_flows: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what the person said for their current request, oldest first
    labels: dict[str, str] = field(default_factory=dict)  # filled choices' labels (several: " | ")
