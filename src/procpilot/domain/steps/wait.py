"""``wait``: pause the flow for a while (``wait: 2d``), durably: it goes on after the time has passed,
also across restarts, and tells the person in their conversation. The duration may come from a
template (``wait: "{{ slots.delay }}"``), checked when the step runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class WaitStep(Step):
    key: ClassVar[str] = "wait"
    waits: ClassVar[bool] = True

    duration: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaitStep:
        return cls(**common(data), duration=str(data["wait"]))

    def templates(self) -> list[str]:
        return [self.duration]

    def _body(self) -> dict[str, Any]:
        return {"wait": self.duration}
