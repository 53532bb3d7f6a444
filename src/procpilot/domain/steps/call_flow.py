"""``call_flow``: run another flow as a sub-flow; this one goes on when it completes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class CallFlowStep(Step):
    key: ClassVar[str] = "call_flow"

    flow: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallFlowStep:
        return cls(**common(data), flow=str(data["call_flow"]))

    def _body(self) -> dict[str, Any]:
        return {"call_flow": self.flow}
