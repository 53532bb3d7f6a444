"""``end``: finish the flow, optionally saying something.

``end: {cancel: true}`` ends it as cancelled instead, together with the flows that called it: a
sub-flow that cannot do its job (say, verifying the customer) stops the whole process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class EndStep(Step):
    key: ClassVar[str] = "end"

    message: str = ""
    cancel: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndStep:
        value = data["end"]
        if isinstance(value, dict):
            return cls(
                **common(data), message=str(value.get("message") or ""), cancel=bool(value.get("cancel"))
            )
        return cls(**common(data), message="" if value in (None, True) else str(value))

    def falls_through(self) -> bool:
        return False

    def targets(self) -> list[str]:
        return []

    def templates(self) -> list[str]:
        return [self.message] if self.message else []

    def _body(self) -> dict[str, Any]:
        if self.cancel:
            return {"end": {"message": self.message, "cancel": True}}
        return {"end": self.message or True}
