"""Commands as data: JSON round trips and clear errors."""

from __future__ import annotations

import pytest

from procpilot.domain.commands import COMMANDS, Clarify, SetSlot, command_from_dict
from procpilot.domain.errors import UserError


def test_every_command_is_named_and_round_trips() -> None:
    assert set(COMMANDS) == {
        "start_flow",
        "set_slot",
        "correct_slot",
        "cancel_flow",
        "confirm",
        "deny",
        "ask_knowledge",
        "chitchat",
        "human_handoff",
        "clarify",
        "cannot_handle",
    }
    for command in (SetSlot("amount", 5), Clarify(("a", "b"))):
        assert command_from_dict(command.as_dict()) == command


@pytest.mark.parametrize(
    "data",
    [
        {"command": "launch_rockets"},
        {"command": "set_slot", "slot": "x"},
        {"command": "confirm", "extra": 1},
        "text",
    ],
)
def test_bad_commands_are_user_errors(data: object) -> None:
    with pytest.raises(UserError):
        command_from_dict(data)  # type: ignore[arg-type]
