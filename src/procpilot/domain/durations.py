"""Durations in packs: ``90s``, ``30m``, ``48h``, ``2d``, ``1w``, or combined like ``1h30m``."""

from __future__ import annotations

import re

from procpilot.domain.errors import UserError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises UserError for anything else."""
    compact = str(text).strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise UserError(f"not a duration: {text!r}; expected e.g. 90s, 30m, 48h, 2d, 1w or 1h30m")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise UserError(f"a duration must be longer than zero, not {text!r}")
    return seconds


_NAMES = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def describe(seconds: float) -> str:
    """``seconds`` for a person: ``2 days``, ``1 hour 30 minutes``, ``45 seconds``."""
    left = max(round(seconds), 1)
    parts = []
    for name, size in _NAMES:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'s' if count > 1 else ''}")
        if len(parts) == 2:
            break
    return " ".join(parts)
