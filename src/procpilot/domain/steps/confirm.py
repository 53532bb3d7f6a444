"""``confirm``: list the details and wait for an explicit yes or no."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class ConfirmStep(Step):
    """On yes the flow goes on; on no it jumps to ``on_no``, or ends cancelled when that is absent."""

    key: ClassVar[str] = "confirm"
    waits: ClassVar[bool] = True

    prompt: str = ""
    on_no: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfirmStep:
        return cls(**common(data), prompt=str(data["confirm"]), on_no=data.get("on_no"))

    def targets(self) -> list[str]:
        return [t for t in (self.next, self.on_no) if t]

    def templates(self) -> list[str]:
        return [self.prompt]

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"confirm": self.prompt}
        if self.on_no:
            body["on_no"] = self.on_no
        return body
