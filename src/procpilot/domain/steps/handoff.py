"""``handoff``: pass the conversation to a person, with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class HandoffStep(Step):
    key: ClassVar[str] = "handoff"

    reason: str = ""
    message: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HandoffStep:
        spec = data["handoff"]
        if isinstance(spec, dict):
            return cls(
                **common(data), reason=str(spec.get("reason") or ""), message=str(spec.get("message") or "")
            )
        return cls(**common(data), reason=str(spec or ""))

    def falls_through(self) -> bool:
        return False

    def targets(self) -> list[str]:
        return []

    def templates(self) -> list[str]:
        return [t for t in (self.reason, self.message) if t]

    def _body(self) -> dict[str, Any]:
        return {"handoff": {"reason": self.reason, "message": self.message}}
