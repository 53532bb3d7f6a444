"""Step types, one module each. ``STEP_TYPES`` maps the YAML key to the class."""

from __future__ import annotations

from typing import Any

from procpilot.domain.steps.approval import ApprovalStep
from procpilot.domain.steps.base import END, Step
from procpilot.domain.steps.branch import BranchStep, Case
from procpilot.domain.steps.call import CallStep
from procpilot.domain.steps.call_flow import CallFlowStep
from procpilot.domain.steps.collect import CollectStep, Validation
from procpilot.domain.steps.confirm import ConfirmStep
from procpilot.domain.steps.end import EndStep
from procpilot.domain.steps.generate import GenerateStep
from procpilot.domain.steps.handoff import HandoffStep
from procpilot.domain.steps.respond import RespondStep
from procpilot.domain.steps.set import SetStep
from procpilot.domain.steps.wait import WaitStep

STEP_TYPES: dict[str, Any] = {
    cls.key: cls
    for cls in (
        CollectStep,
        CallStep,
        SetStep,
        BranchStep,
        ConfirmStep,
        ApprovalStep,
        GenerateStep,
        RespondStep,
        CallFlowStep,
        HandoffStep,
        EndStep,
        WaitStep,
    )
}


def step_kind(data: dict[str, Any]) -> str | None:
    """The type key present in a step mapping, or None when there is none (or several)."""
    keys = [k for k in STEP_TYPES if k in data]
    return keys[0] if len(keys) == 1 else None


def step_from_dict(data: dict[str, Any]) -> Step:
    """Build a step from validated YAML data (it must carry an ``id``)."""
    kind = step_kind(data)
    if kind is None:
        raise ValueError(f"a step needs exactly one of {', '.join(STEP_TYPES)}")
    step: Step = STEP_TYPES[kind].from_dict(data)
    return step


__all__ = [
    "END",
    "STEP_TYPES",
    "ApprovalStep",
    "BranchStep",
    "CallFlowStep",
    "CallStep",
    "Case",
    "CollectStep",
    "ConfirmStep",
    "EndStep",
    "GenerateStep",
    "HandoffStep",
    "RespondStep",
    "SetStep",
    "Step",
    "Validation",
    "WaitStep",
    "step_from_dict",
    "step_kind",
]
