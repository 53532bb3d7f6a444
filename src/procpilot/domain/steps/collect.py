"""``collect``: ask for a slot, validate the answer, re-ask when it does not fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class Validation:
    """``check`` must hold for the value; otherwise ``message`` is said and the slot asked again."""

    check: str
    message: str


@dataclass(frozen=True)
class CollectStep(Step):
    key: ClassVar[str] = "collect"
    waits: ClassVar[bool] = True

    slot: str = ""
    prompt: str = ""
    validations: tuple[Validation, ...] = field(default_factory=tuple)
    ask_before_filling: bool = False
    skip_if: str | None = None
    max_attempts: int | None = None
    buttons: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectStep:
        validations = tuple(
            Validation(check=str(v["check"]), message=str(v["message"])) for v in data.get("validate") or []
        )
        return cls(
            **common(data),
            slot=str(data["collect"]),
            prompt=str(data.get("prompt") or ""),
            validations=validations,
            ask_before_filling=bool(data.get("ask_before_filling", False)),
            skip_if=data.get("skip_if"),
            max_attempts=data.get("max_attempts"),
            buttons=bool(data.get("buttons", True)),
        )

    def expressions(self) -> list[str]:
        checks = [v.check for v in self.validations]
        return [*checks, self.skip_if] if self.skip_if else checks

    def templates(self) -> list[str]:
        return [self.prompt, *(v.message for v in self.validations)]

    def slots_written(self) -> list[str]:
        return [self.slot]

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"collect": self.slot, "prompt": self.prompt}
        if self.validations:
            body["validate"] = [{"check": v.check, "message": v.message} for v in self.validations]
        if self.ask_before_filling:
            body["ask_before_filling"] = True
        if self.skip_if:
            body["skip_if"] = self.skip_if
        if self.max_attempts is not None:
            body["max_attempts"] = self.max_attempts
        return body
