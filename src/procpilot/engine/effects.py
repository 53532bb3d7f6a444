"""Effects the engine asks the runtime to perform, and the outcomes the runtime reports back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """Call ``tool`` with ``args``. ``key`` is stable for this visit of this step, across retries."""

    frame_id: str
    step_id: str
    flow_id: str
    tool: str
    args: dict[str, Any]
    key: str
    attempt: int = 1
    retries: int = 0


@dataclass(frozen=True)
class ApprovalRequest:
    """Ask ``role`` or ``assignee`` to decide. ``kind`` is approval, or review for a held draft."""

    frame_id: str
    step_id: str
    flow_id: str
    key: str
    summary: str
    role: str | None = None
    assignee: str | None = None
    timeout: str | None = None
    kind: str = "approval"
    draft: str | None = None


@dataclass(frozen=True)
class Generation:
    """Produce text from ``prompt`` (a rendered template) following ``instructions``."""

    frame_id: str
    step_id: str
    flow_id: str
    prompt: str
    instructions: str = ""


@dataclass(frozen=True)
class Timer:
    """Wake this frame after ``seconds``: a wait step (``purpose`` wait) or a delayed tool retry
    (``purpose`` retry). ``key`` is stable for this visit, so starting it twice starts one timer."""

    frame_id: str
    step_id: str
    flow_id: str
    key: str
    seconds: float
    purpose: str = "wait"


Effect = ToolCall | ApprovalRequest | Generation | Timer


@dataclass(frozen=True)
class ToolResult:
    frame_id: str
    step_id: str
    ok: bool
    result: Any = None
    error: str = ""
    detail: str = ""


@dataclass(frozen=True)
class ApprovalHandle:
    """The runtime created the approval task ``approval_id``; the flow now waits for its decision."""

    frame_id: str
    step_id: str
    approval_id: str
    assignee_label: str = ""


@dataclass(frozen=True)
class ApprovalDecision:
    """``outcome`` is approved, rejected, changes_requested or timeout."""

    approval_id: str
    outcome: str
    comment: str = ""
    by: str | None = None
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationResult:
    """``model`` is None when the template was used as it is; ``error`` says why, if a model failed."""

    frame_id: str
    step_id: str
    text: str
    model: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class TimerStarted:
    """The runtime stored the timer; it falls due at ``due`` (ISO 8601, UTC)."""

    frame_id: str
    step_id: str
    key: str
    due: str


@dataclass(frozen=True)
class TimerFired:
    """The timer ``key`` fell due (sent by the durable process, or by a test's ``elapse``)."""

    frame_id: str
    step_id: str
    key: str


Outcome = ToolResult | ApprovalHandle | ApprovalDecision | GenerationResult | TimerStarted | TimerFired


def effect_as_dict(effect: Effect) -> dict[str, Any]:
    """An effect as plain data, kept in the frame so a crash before it is performed can redo it."""
    return {"type": type(effect).__name__, **asdict(effect)}


def effect_from_dict(data: dict[str, Any]) -> Effect:
    kinds: dict[str, type[Any]] = {
        "Timer": Timer,
        "ApprovalRequest": ApprovalRequest,
        "Generation": Generation,
    }
    fields = dict(data)
    effect: Effect = kinds[fields.pop("type")](**fields)
    return effect
