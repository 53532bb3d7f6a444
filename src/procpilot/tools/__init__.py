"""Tools: Python functions and HTTP endpoints that flows call.

Toolset      the decorator pack authors use: ``@toolset.tool(writes=True)``
ToolContext  what a tool receives besides its arguments (tenant, idempotency key, database)
ToolRunner   runs a call: validates arguments, applies the time-out, commits or rolls back,
             and never repeats a write whose idempotency key it has seen
"""

from procpilot.tools.context import ToolContext
from procpilot.tools.errors import ToolFailure
from procpilot.tools.toolset import Tool, Toolset

__all__ = ["Tool", "ToolContext", "ToolFailure", "Toolset"]
