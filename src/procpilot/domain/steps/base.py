"""What every step has: an id, an optional explicit ``next``, and a way back to a dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

END = "END"


@dataclass(frozen=True)
class Step:
    """A step of a flow. ``key`` is the YAML key naming its type (``collect``, ``call``...)."""

    key: ClassVar[str] = ""
    waits: ClassVar[bool] = False

    id: str
    next: str | None = None
    line: int | None = field(default=None, compare=False)

    def targets(self) -> list[str]:
        """Step ids this step may jump to explicitly (not counting falling through)."""
        return [self.next] if self.next else []

    def falls_through(self) -> bool:
        """Whether the step can continue to the following step in the list."""
        return self.next is None

    def expressions(self) -> list[str]:
        """Expressions the step evaluates (checked at load)."""
        return []

    def templates(self) -> list[str]:
        """Templates the step renders (checked at load)."""
        return []

    def slots_written(self) -> list[str]:
        """Slot names the step fills."""
        return []

    def as_dict(self) -> dict[str, Any]:
        data = self._body()
        data["id"] = self.id
        if self.next:
            data["next"] = self.next
        return data

    def _body(self) -> dict[str, Any]:
        raise NotImplementedError


def common(data: dict[str, Any]) -> dict[str, Any]:
    """The keys every step shares."""
    return {"id": str(data["id"]), "next": data.get("next"), "line": data.get("__line__")}
