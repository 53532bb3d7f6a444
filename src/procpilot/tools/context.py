"""What a tool receives besides its arguments."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class ToolContext:
    """Passed as the first argument to tools that ask for it (``def f(ctx: ToolContext, ...)``).

    ``db`` is a connection to the pack's business database, inside a transaction that the runner
    commits when the tool returns and rolls back when it raises or times out.
    ``idempotency_key`` is stable across retries of the same step, so a write can be recognised.
    ``roles`` are the asking person's roles (also their access labels for knowledge).
    """

    tenant: str
    conversation_id: str
    user_id: str | None
    idempotency_key: str
    db: sqlite3.Connection | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
