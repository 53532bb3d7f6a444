"""``respond``: say something, from a template."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class RespondStep(Step):
    key: ClassVar[str] = "respond"

    text: str = ""
    buttons: tuple[str, ...] = field(default_factory=tuple)
    # A path into the slots to a list of {title, payload}: buttons that depend on what a tool returned
    # ("answer.choices": the documents a question could mean).
    buttons_from: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RespondStep:
        return cls(
            **common(data),
            text=str(data["respond"]),
            buttons=tuple(data.get("buttons") or ()),
            buttons_from=str(data.get("buttons_from") or ""),
        )

    def templates(self) -> list[str]:
        return [self.text]

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"respond": self.text}
        if self.buttons:
            body["buttons"] = list(self.buttons)
        return body
