"""Flows and packs: the validated, typed form of a pack's YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procpilot.domain.schedules import Schedule
from procpilot.domain.slots import SlotDef
from procpilot.domain.steps import END, Step


@dataclass(frozen=True)
class Flow:
    """A business process: typed slots and the steps that fill and use them.

    ``allowed_roles`` lists the roles that may start it (empty: anyone). ``examples`` and
    ``keywords`` teach understanding when to start it. A ``pattern`` flow is started by the engine
    itself (cancellation, correction, ...), never by a person directly.
    """

    id: str
    description: str = ""
    name: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    allowed_roles: tuple[str, ...] = ()
    slots: dict[str, SlotDef] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    pattern: bool = False
    source: str = ""

    @property
    def title(self) -> str:
        return self.name or self.id.replace("_", " ")

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"flow {self.id!r} has no step {step_id!r}")

    def has_step(self, step_id: str) -> bool:
        return any(step.id == step_id for step in self.steps)

    def first(self) -> str:
        return self.steps[0].id if self.steps else END

    def following(self, step_id: str) -> str:
        """The step after ``step_id`` when it falls through (its ``next`` if set)."""
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                if step.next:
                    return step.next
                return self.steps[index + 1].id if index + 1 < len(self.steps) else END
        raise KeyError(f"flow {self.id!r} has no step {step_id!r}")

    def may_start(self, roles: tuple[str, ...] | list[str]) -> bool:
        return not self.allowed_roles or bool(set(self.allowed_roles) & set(roles))


@dataclass(frozen=True)
class HttpToolSpec:
    """A tool declared in YAML that calls an HTTP endpoint."""

    name: str
    description: str
    method: str
    url: str
    writes: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    auth: dict[str, str] = field(default_factory=dict)
    response: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0


MODEL_USES = ("generate", "rephrase", "commands", "knowledge")


@dataclass(frozen=True)
class ModelUse:
    """Which model serves one use (generate, rephrase, commands, knowledge), with its sampling."""

    model: str
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    # For ``commands``: ``instructed`` (a general model), or ``tuned`` for a model fine-tuned here.
    prompt_format: str = "instructed"


@dataclass(frozen=True)
class PackSettings:
    """Behaviour a pack may tune."""

    max_attempts: int = 3
    failures_before_handoff: int = 3
    timezone: str = "UTC"
    language: str = "en"
    tool_timeout: float = 10.0


@dataclass(frozen=True)
class Pack:
    """One assistant: its flows (patterns included), tools, settings and where its files live."""

    id: str
    name: str
    root: str
    version: str = "1"
    description: str = ""
    flows: dict[str, Flow] = field(default_factory=dict)
    tool_modules: tuple[str, ...] = ()
    http_tools: dict[str, HttpToolSpec] = field(default_factory=dict)
    settings: PackSettings = field(default_factory=PackSettings)
    database_seed: str | None = None
    responses: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    models: dict[str, ModelUse] = field(default_factory=dict)
    schedules: tuple[Schedule, ...] = ()

    def flow(self, flow_id: str) -> Flow:
        return self.flows[flow_id]

    def user_flows(self) -> list[Flow]:
        """Flows a person can start (patterns excluded)."""
        return [f for f in self.flows.values() if not f.pattern]
