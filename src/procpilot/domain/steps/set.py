"""``set``: assign slots (or ``conversation.*`` memory) from expressions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class SetStep(Step):
    key: ClassVar[str] = "set"

    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SetStep:
        return cls(**common(data), values=dict(data["set"] or {}))

    def expressions(self) -> list[str]:
        return [v for v in self.values.values() if isinstance(v, str)]

    def slots_written(self) -> list[str]:
        return [k for k in self.values if not k.startswith("conversation.")]

    def _body(self) -> dict[str, Any]:
        return {"set": self.values}
