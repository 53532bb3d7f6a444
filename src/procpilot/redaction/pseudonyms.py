"""Pseudonyms that hold across a conversation, the redaction policy's version, and its failure.
(No recognizer here: this module is cheap to import.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from procpilot.domain.errors import UserError

# Raised when what is recognized, or how it is replaced, changes: a dataset version records the
# policy its items were redacted under.
POLICY_VERSION = "2026-12-02.1"


class RedactionFailed(UserError):
    """Redaction could not finish: nothing is exported unredacted."""


@dataclass
class Pseudonyms:
    """One conversation's pseudonyms: the same value gets the same ``<KIND_n>`` every time."""

    given: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, kind: str, value: str) -> str:
        key = (kind, " ".join(value.lower().split()))
        if key not in self.given:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.given[key] = f"<{kind}_{self.counts[kind]}>"
        return self.given[key]
