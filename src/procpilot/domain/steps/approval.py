"""``approval``: a person (or a role) must approve before the flow goes on.

The engine asks the runtime for the approval and waits for its outcome; the durable runtime keeps
the wait across restarts and fires ``timeout``. When the approver asks for changes, the flow goes
back to ``on_changes`` (by default the confirmation before this step), where the requester says
what to change; the amended request returns to the same approver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class ApprovalStep(Step):
    """``assignee`` is an expression giving a person's id; ``role`` a role any holder of may decide."""

    key: ClassVar[str] = "approval"
    waits: ClassVar[bool] = True

    role: str | None = None
    assignee: str | None = None
    summary: str = ""
    timeout: str | None = None
    on_rejected: str | None = None
    on_timeout: str | None = None
    on_changes: str | None = None
    result: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalStep:
        spec = data["approval"] or {}
        return cls(
            **common(data),
            role=spec.get("role"),
            assignee=spec.get("assignee"),
            summary=str(spec.get("summary") or ""),
            timeout=spec.get("timeout"),
            on_rejected=data.get("on_rejected"),
            on_timeout=data.get("on_timeout"),
            on_changes=data.get("on_changes"),
            result=data.get("result"),
        )

    def targets(self) -> list[str]:
        return [t for t in (self.next, self.on_rejected, self.on_timeout, self.on_changes) if t]

    def expressions(self) -> list[str]:
        return [self.assignee] if self.assignee else []

    def templates(self) -> list[str]:
        return [self.summary]

    def slots_written(self) -> list[str]:
        return [self.result] if self.result else []

    def _body(self) -> dict[str, Any]:
        spec = {k: getattr(self, k) for k in ("role", "assignee", "summary", "timeout") if getattr(self, k)}
        body: dict[str, Any] = {"approval": spec}
        for key in ("on_rejected", "on_timeout", "on_changes", "result"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        return body
