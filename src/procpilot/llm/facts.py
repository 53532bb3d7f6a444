"""Facts that model-written text must keep verbatim: amounts, numbers, dates, ids, emails.

A rephrasing or a generated message is accepted only if every fact of the original appears in it
unchanged and it adds no number of its own; otherwise the original text is used.
"""

from __future__ import annotations

import re

_FACT = re.compile(
    r"""
      [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}        # email addresses
    | \#?[A-Za-z]*\d[\w-]*                                   # ids and numbers: #W2611340, 78701, gift_card_1
    | [$€£]\s?\d[\d,]*(?:\.\d+)?                             # amounts with a currency sign
    | \d[\d,]*(?:\.\d+)?                                     # plain numbers
    """,
    re.VERBOSE,
)


def facts(text: str) -> set[str]:
    """The fact tokens of ``text``."""
    found = set()
    for match in _FACT.finditer(text):
        token = match.group(0).rstrip(".,")
        if any(ch.isdigit() for ch in token) or "@" in token:
            found.add(token.replace(" ", ""))
    return found


def keeps_facts(original: str, candidate: str) -> bool:
    """Every fact of ``original`` is in ``candidate`` and ``candidate`` has no new numeric fact."""
    before, after = facts(original), facts(candidate)
    if not before <= after:
        return False
    return not {f for f in after - before if any(ch.isdigit() for ch in f)}


def missing_facts(original: str, candidate: str) -> list[str]:
    """What a candidate dropped or invented, for the log."""
    before, after = facts(original), facts(candidate)
    return sorted(before - after) + [f"+{f}" for f in sorted(after - before) if any(c.isdigit() for c in f)]
