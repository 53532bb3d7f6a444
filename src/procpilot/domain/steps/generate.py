"""``generate``: text from a language model, guided by a template and instructions.

With ``review: true`` the draft is held for a person to review and edit before it is sent.
Without a model configured, the rendered template itself is the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class GenerateStep(Step):
    key: ClassVar[str] = "generate"

    template: str = ""
    instructions: str = ""
    into: str | None = None
    review: bool = False
    send: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerateStep:
        return cls(
            **common(data),
            template=str(data["generate"]),
            instructions=str(data.get("instructions") or ""),
            into=data.get("into"),
            review=bool(data.get("review", False)),
            send=bool(data.get("send", True)),
        )

    def templates(self) -> list[str]:
        return [self.template]

    def slots_written(self) -> list[str]:
        return [self.into] if self.into else []

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"generate": self.template}
        if self.instructions:
            body["instructions"] = self.instructions
        if self.into:
            body["into"] = self.into
        if self.review:
            body["review"] = True
        if not self.send:
            body["send"] = False
        return body
