"""Commands: the only interface between understanding and the dialogue engine.

Understanding (rules, a classifier, or a language model) turns each message into a few commands;
the engine applies them. A command is data: it computes nothing and performs no I/O.
All eleven live in this one module because each is a few lines; ``COMMANDS`` maps names to classes
explicitly rather than by scanning subclasses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from procpilot.domain.errors import UserError


@dataclass(frozen=True)
class Command:
    """Base class; ``name`` is the wire name used in JSON and tests."""

    name: ClassVar[str] = ""

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.name, **asdict(self)}


@dataclass(frozen=True)
class StartFlow(Command):
    """Start (or digress into) a flow. ``note``: the part of the message that asks for it, when
    the message asks for several things (each runs in turn, with its own words)."""

    name: ClassVar[str] = "start_flow"
    flow: str
    note: str | None = None


@dataclass(frozen=True)
class SetSlot(Command):
    """Fill a slot of the active flow with a value extracted from the message."""

    name: ClassVar[str] = "set_slot"
    slot: str
    value: Any


@dataclass(frozen=True)
class CorrectSlot(Command):
    """Change a slot that was already filled ("no, make it Friday"); with no ``value``, ask for it
    again ("change the date")."""

    name: ClassVar[str] = "correct_slot"
    slot: str
    value: Any


@dataclass(frozen=True)
class CancelFlow(Command):
    """Stop the active flow, or the flow running in ``frame`` (an operator cancelling an instance)."""

    name: ClassVar[str] = "cancel_flow"
    frame: str | None = None


@dataclass(frozen=True)
class Confirm(Command):
    """Yes to a pending confirmation."""

    name: ClassVar[str] = "confirm"


@dataclass(frozen=True)
class Deny(Command):
    """No to a pending confirmation."""

    name: ClassVar[str] = "deny"


@dataclass(frozen=True)
class AskKnowledge(Command):
    """A question to answer from the organisation's documents."""

    name: ClassVar[str] = "ask_knowledge"
    query: str


@dataclass(frozen=True)
class Chitchat(Command):
    """Small talk: greetings, thanks, goodbyes."""

    name: ClassVar[str] = "chitchat"
    kind: str = "greet"


@dataclass(frozen=True)
class HumanHandoff(Command):
    """The person asked for a human."""

    name: ClassVar[str] = "human_handoff"
    reason: str = "requested by the user"


@dataclass(frozen=True)
class Clarify(Command):
    """The message could mean one of several flows: ask which. With ``slot``, the candidates are
    option values of that slot that the words fit equally ("the speaker" with two speakers)."""

    name: ClassVar[str] = "clarify"
    candidates: tuple[Any, ...] = field(default_factory=tuple)
    slot: str | None = None


@dataclass(frozen=True)
class CannotHandle(Command):
    """Understanding could not place the message."""

    name: ClassVar[str] = "cannot_handle"
    reason: str = "not understood"


COMMANDS: dict[str, type[Command]] = {
    cls.name: cls
    for cls in (
        StartFlow,
        SetSlot,
        CorrectSlot,
        CancelFlow,
        Confirm,
        Deny,
        AskKnowledge,
        Chitchat,
        HumanHandoff,
        Clarify,
        CannotHandle,
    )
}


def command_from_dict(data: dict[str, Any]) -> Command:
    """Build a command from its JSON form; raises UserError on unknown names or fields."""
    if not isinstance(data, dict):
        raise UserError(f"a command must be an object, found {type(data).__name__}")
    name = data.get("command")
    cls = COMMANDS.get(str(name))
    if cls is None:
        raise UserError(f"unknown command {name!r}; expected one of {', '.join(COMMANDS)}")
    allowed = {f.name for f in fields(cls)}
    args = {k: v for k, v in data.items() if k != "command"}
    unknown = set(args) - allowed
    if unknown:
        raise UserError(f"command {name!r} has no field(s) {', '.join(sorted(unknown))}")
    if "candidates" in args:
        args["candidates"] = tuple(args["candidates"])
    try:
        return cls(**args)
    except TypeError as error:
        raise UserError(f"command {name!r}: {error}") from None
