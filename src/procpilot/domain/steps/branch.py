"""``branch``: jump to the first case whose condition holds; otherwise ``else`` or fall through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from procpilot.domain.steps.base import Step, common


@dataclass(frozen=True)
class Case:
    condition: str
    then: str


@dataclass(frozen=True)
class BranchStep(Step):
    key: ClassVar[str] = "branch"

    cases: tuple[Case, ...] = field(default_factory=tuple)
    otherwise: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BranchStep:
        cases, otherwise = [], None
        for case in data["branch"] or []:
            if "else" in case:
                otherwise = str(case["else"])
            else:
                cases.append(Case(condition=str(case["if"]), then=str(case["then"])))
        return cls(**common(data), cases=tuple(cases), otherwise=otherwise)

    def targets(self) -> list[str]:
        found = [c.then for c in self.cases]
        if self.otherwise:
            found.append(self.otherwise)
        if self.next:
            found.append(self.next)
        return found

    def falls_through(self) -> bool:
        return self.otherwise is None and self.next is None

    def expressions(self) -> list[str]:
        return [c.condition for c in self.cases]

    def _body(self) -> dict[str, Any]:
        cases: list[dict[str, str]] = [{"if": c.condition, "then": c.then} for c in self.cases]
        if self.otherwise:
            cases.append({"else": self.otherwise})
        return {"branch": cases}
