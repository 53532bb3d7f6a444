"""``ToolFailure``: raised by a tool to refuse or fail with a message meant for the person."""

from __future__ import annotations


class ToolFailure(Exception):
    """The message is shown to the person as it is (e.g. "Only pending orders can be cancelled")."""
