"""The dialogue engine: applies commands to conversation state and advances flows, without I/O.

``DialogueEngine.handle(state, commands)`` returns a ``Turn``: the new state, the events, and at
most one ``Effect`` (a tool call, an approval request, a generation, a timer) for the runtime to perform;
``DialogueEngine.resume(state, outcome)`` continues with the effect's outcome.
"""

from procpilot.engine.dialogue import DialogueEngine, Turn
from procpilot.engine.effects import (
    ApprovalDecision,
    ApprovalHandle,
    ApprovalRequest,
    Effect,
    Generation,
    GenerationResult,
    Outcome,
    Timer,
    TimerFired,
    TimerStarted,
    ToolCall,
    ToolResult,
)

__all__ = [
    "ApprovalDecision",
    "ApprovalHandle",
    "ApprovalRequest",
    "DialogueEngine",
    "Effect",
    "Generation",
    "GenerationResult",
    "Outcome",
    "Timer",
    "TimerFired",
    "TimerStarted",
    "ToolCall",
    "ToolResult",
    "Turn",
]
