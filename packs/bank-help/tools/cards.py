"""The help desk's card tools, on a small business database of demo cards."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from procpilot.tools import ToolContext, ToolFailure, Toolset

toolset = Toolset("cards")

CARDS = [
    ("4821", "debit", "Blue Account", "active"),
    ("9034", "debit", "Green Account (checking)", "active"),
    ("1177", "debit", "Purple Account", "frozen"),
]


def seed(db: sqlite3.Connection, data_dir: Path) -> None:
    db.execute(
        "CREATE TABLE cards (last4 TEXT PRIMARY KEY, kind TEXT, account TEXT, status TEXT, reason TEXT)"
    )
    db.executemany("INSERT INTO cards (last4, kind, account, status) VALUES (?, ?, ?, ?)", CARDS)


@toolset.tool
def find_card(ctx: ToolContext, last4: str) -> dict:
    """The card with these last four digits."""
    assert ctx.db is not None
    row = ctx.db.execute("SELECT kind, account, status FROM cards WHERE last4 = ?", (last4,)).fetchone()
    if row is None:
        raise ToolFailure(f"I can't find a card ending in {last4}.")
    if row[2] == "frozen":
        raise ToolFailure(f"The card ending in {last4} is already frozen.")
    return {"kind": row[0], "account": row[1], "status": row[2]}


@toolset.tool(writes=True)
def freeze_card(ctx: ToolContext, last4: str, reason: str) -> dict:
    """Freeze a card. Idempotent: a retried call does not freeze twice."""
    assert ctx.db is not None
    changed = ctx.db.execute(
        "UPDATE cards SET status = 'frozen', reason = ? WHERE last4 = ? AND status = 'active'",
        (reason, last4),
    ).rowcount
    if not changed:
        raise ToolFailure(f"The card ending in {last4} could not be frozen.")
    return {"reference": "FRZ-" + hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:6].upper()}
