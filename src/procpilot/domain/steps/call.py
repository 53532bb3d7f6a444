"""``call``: call a tool with arguments computed from slots; put its result into slots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class CallStep(Step):
    """``args`` values are expressions (strings) or literals; ``result`` names the slot for the
    whole result; ``outputs`` maps further slots to expressions over ``result``.
    ``on_error`` is the step to take when the tool fails; without it the flow ends with a message.
    ``retries`` more attempts follow a failure: at once, or after ``retry_delay`` (a duration,
    doubled for each further attempt) as durable timers, telling the person it will try again."""

    key: ClassVar[str] = "call"

    tool: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    result: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    on_error: str | None = None
    retries: int = 0
    retry_delay: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallStep:
        return cls(
            **common(data),
            tool=str(data["call"]),
            args=dict(data.get("args") or {}),
            result=data.get("result"),
            outputs={str(k): str(v) for k, v in (data.get("outputs") or {}).items()},
            on_error=data.get("on_error"),
            retries=int(data.get("retries", 0)),
            retry_delay=data.get("retry_delay"),
        )

    def targets(self) -> list[str]:
        return [t for t in (self.next, self.on_error) if t]

    def expressions(self) -> list[str]:
        return [v for v in self.args.values() if isinstance(v, str)] + list(self.outputs.values())

    def slots_written(self) -> list[str]:
        return ([self.result] if self.result else []) + list(self.outputs)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"call": self.tool, "args": self.args}
        for key in ("result", "on_error"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.outputs:
            body["outputs"] = self.outputs
        if self.retries:
            body["retries"] = self.retries
        if self.retry_delay:
            body["retry_delay"] = self.retry_delay
        return body
