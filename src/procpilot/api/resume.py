"""Where a reconnecting event stream resumes: ``Last-Event-ID`` checked like the ``after`` query."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException

MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII digits only: "²" is a digit to str.isdigit()


def resume_after(last_event_id: str | None, after: int) -> int:
    """The message id to resume after: ``Last-Event-ID`` when given, else ``after``. A header that
    is not a message id (not ASCII digits, or beyond 64 bits) is a 422, like a bad ``after``."""
    if last_event_id is None or last_event_id == "":
        return max(after, 0)
    if not _DIGITS.fullmatch(last_event_id) or int(last_event_id) > MAX_ID:
        raise HTTPException(
            422, f"Last-Event-ID must be a message id (0 to {MAX_ID}), not {last_event_id[:40]!r}"
        )
    return int(last_event_id)
