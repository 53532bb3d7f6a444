"""Matching a message to the flow it asks for, from the pack's examples and keywords.

The simplest thing that works: fuzzy similarity (rapidfuzz) to each example with stop words
removed, plus a bonus for the flow's keywords. Two flows scoring close together give a
clarification instead of a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from procpilot.domain.flows import Flow

STOP = frozenset(
    [
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "and",
        "or",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "these",
        "those",
        "please",
        "can",
        "could",
        "would",
        "will",
        "want",
        "wanna",
        "like",
        "need",
        "i'd",
        "i'm",
        "im",
        "do",
        "does",
        "did",
        "just",
        "some",
        "with",
        "from",
        "on",
        "in",
        "at",
        "about",
        "also",
        "hi",
        "hello",
        "hey",
        "there",
        "help",
    ]
)
THRESHOLD = 72.0
STRONG = 88.0
MARGIN = 4.0


def content(text: str) -> str:
    words = re.findall(r"[a-z0-9#']+", text.lower())
    return " ".join(w for w in words if w not in STOP)


@dataclass(frozen=True)
class Match:
    flow: str
    score: float


class IntentMatcher:
    """Scores each startable flow against a message."""

    digression = 88.0  # fuzzy scores run high: only a near-verbatim example leaves an open question

    def __init__(self, flows: list[Flow]) -> None:
        self.flows = [f for f in flows if f.examples or f.keywords]
        self._examples = {f.id: [content(e) for e in (*f.examples, f.title)] for f in self.flows}
        self._keywords = {f.id: [k.lower() for k in f.keywords] for f in self.flows}

    def rank(self, text: str) -> list[Match]:
        cleaned = content(text)
        lowered = text.lower()
        if not cleaned:
            return []
        matches = []
        for flow in self.flows:
            best = 0.0
            for example in self._examples[flow.id]:
                if not example:
                    continue
                score = 0.55 * fuzz.token_set_ratio(cleaned, example) + 0.45 * fuzz.token_sort_ratio(
                    cleaned, example
                )
                best = max(best, score)
            if any(re.search(rf"\b{re.escape(k)}\b", lowered) for k in self._keywords[flow.id]):
                best = min(100.0, best + 22.0)
            matches.append(Match(flow.id, best))
        return sorted(matches, key=lambda m: -m.score)

    def best(self, text: str) -> tuple[Match | None, list[Match]]:
        """The confident match (or None) and the close candidates when it is ambiguous."""
        ranked = [m for m in self.rank(text) if m.score >= THRESHOLD]
        if not ranked:
            return None, []
        close = [m for m in ranked if ranked[0].score - m.score <= MARGIN]
        if len(close) > 1 and ranked[0].score < 99:
            return None, close
        return ranked[0], []
