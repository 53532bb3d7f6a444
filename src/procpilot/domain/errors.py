"""Errors of the domain.

ProcpilotError
 ├── UserError                 you used it wrong: fix the input
 │    ├── PackError            a pack failed validation (carries every Problem)
 │    ├── ExpressionError      a branch or validation expression does not parse
 │    └── SlotValueError       a value does not fit a slot's type
 └── RunTimeError              it failed while running: retry or report
      ├── ToolError            a tool raised, timed out or answered badly
      └── StateConflict        the conversation changed under us
"""

from __future__ import annotations

from dataclasses import dataclass


class ProcpilotError(Exception):
    """Base of every error procpilot raises on purpose."""


class UserError(ProcpilotError):
    """The caller gave something invalid: a bad pack, request or value."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack: where, what was expected and what was found."""

    file: str
    line: int | None
    message: str
    expected: str = ""
    found: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected}"
            text += f", found {self.found})" if self.found else ")"
        return text


class PackError(UserError):
    """A pack did not validate. ``problems`` lists every issue found, not just the first."""

    def __init__(self, pack: str, problems: list[Problem]) -> None:
        self.pack = pack
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"pack {pack!r} has {len(problems)} problem(s):\n{lines}")


class ExpressionError(UserError):
    """An expression in a flow does not parse or uses something unknown."""


class SlotValueError(UserError):
    """A value does not fit the slot's type; the message is fit to show a person."""


class PermissionDenied(UserError):
    """The caller may not do this (a missing role, another person's request)."""


class NotAuthenticated(UserError):
    """No valid credentials: a missing, wrong, revoked or expired key, password or session."""


class TooManyAttempts(NotAuthenticated):
    """Too many failed log-ins for an account in a short time; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(UserError):
    """What was asked for does not exist, or is not the caller's to see (the same answer for both)."""


class RunTimeError(ProcpilotError):
    """Something failed while running; the input was fine."""


class ToolError(RunTimeError):
    """A tool raised, timed out, or returned something unusable."""

    def __init__(self, tool: str, message: str, *, timed_out: bool = False) -> None:
        self.tool = tool
        self.timed_out = timed_out
        super().__init__(f"tool {tool!r}: {message}")


class StateConflict(RunTimeError):
    """Another writer changed the conversation state since it was read."""
