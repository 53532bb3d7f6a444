"""Type hints become JSON Schema; tools declare whether they write."""

from __future__ import annotations

from typing import Literal

import pytest

from procpilot.domain.errors import UserError
from procpilot.tools import ToolContext, Toolset


def test_parameters_become_json_schema() -> None:
    toolset = Toolset()

    @toolset.tool(writes=True)
    def book(
        ctx: ToolContext,
        room: str,
        nights: int,
        price: float,
        vip: bool,
        tags: list[str],
        note: str | None = None,
        kind: Literal["a", "b"] = "a",
    ) -> dict:
        """Book a room.

        Longer text is not part of the description."""
        return {}

    tool = toolset.tools["book"]
    assert tool.writes and tool.wants_context
    assert tool.description == "Book a room."
    assert tool.parameters["required"] == ["room", "nights", "price", "vip", "tags"]
    props = tool.parameters["properties"]
    assert props["nights"] == {"type": "integer"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["note"] == {"type": ["string", "null"], "default": None}
    assert props["kind"] == {"enum": ["a", "b"], "default": "a"}


def test_a_name_cannot_be_registered_twice() -> None:
    toolset = Toolset()
    toolset.tool(lambda: 1, name="x")
    with pytest.raises(UserError):
        toolset.tool(lambda: 2, name="x")
