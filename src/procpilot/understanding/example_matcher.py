"""Matching a message to the flow it asks for, from the pack's examples and keywords.

Fuzzy similarity (rapidfuzz) to each example with stop words removed, plus a bonus for the flow's
keywords (``*`` in a keyword stands for up to eight words: "ship * to"). Long messages are read
clause by clause after the details that say nothing about the request (greetings, names, emails,
ids, addresses, amounts) are set aside, so a message full of details finds its flow as a short one
does; words one or two letters off the pack's own words are corrected first. Two flows scoring
close together give a clarification instead of a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from procpilot.domain.flows import Flow
from procpilot.understanding.spelling import Speller

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
# A flow whose keyword the message says, far ahead of every other flow, is the one meant even
# when a long message resembles no example closely.
KEYWORD_FLOOR = 55.0
KEYWORD_LEAD = 18.0


def content(text: str) -> str:
    words = re.findall(r"[a-z0-9#']+", text.lower())
    return " ".join(w for w in words if w not in STOP)


# Details that identify things but say nothing about what is asked.
_NOISE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        r"\b\d{1,6}\s+[A-Za-z0-9 .'-]+?(?:,\s*[A-Za-z0-9 .#'-]+?)?,\s*[A-Za-z .'-]+,\s*[A-Z]{2}\s+\d{5}\b",
        r"\b(?:my name is|my name's|i am|i'm|this is)\s+[a-z'-]+\s+[a-z'-]+",
        r"\b(?:my )?(?:zip(?: code)?|zipcode|postcode)(?: is)?\s*:?\s*\d{5}\b",
        r"\bfrom\s+\d{5}\b",
        r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?\b[,.!]*",
    )
]
_CLAUSES = re.compile(r"[.!?;]+|,\s+|\s+(?:and|but|so|because)\s+", re.IGNORECASE)


_ID = re.compile(r"#?\b[A-Z]\d{5,}\b")


def clauses(text: str) -> list[str]:
    """The message without its identifying details, then each clause of it. An id stays as the
    word "order": "the address on #W1067251" is about an order."""
    if len(text.split()) >= 2:  # a bare id answers a question; it asks for no flow
        text = _ID.sub(" order ", text)
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    parts = [p.strip() for p in _CLAUSES.split(text) if len(p.split()) >= 2]
    return [text, *parts] if len(parts) > 1 else [text]


def _keyword(keyword: str) -> re.Pattern[str]:
    parts = [re.escape(p.strip()) for p in keyword.lower().split("*")]
    return re.compile(r"\b" + r"\b(?:\W+\w+){0,8}?\W+\b".join(parts) + r"\b")


@dataclass(frozen=True)
class Match:
    flow: str
    score: float
    keyword: bool = False


class ExampleMatcher:
    """Scores each startable flow against a message."""

    digression = 88.0  # fuzzy scores run high: only a near-verbatim example leaves an open question

    def __init__(self, flows: list[Flow]) -> None:
        self.flows = [f for f in flows if f.examples or f.keywords]
        self._examples = {f.id: [content(e) for e in (*f.examples, f.title)] for f in self.flows}
        self._keywords = {f.id: [_keyword(k) for k in f.keywords] for f in self.flows}
        self.speller = Speller.from_texts(
            t for f in self.flows for t in (*f.examples, *f.keywords, f.title, f.description)
        )

    def rank(self, text: str) -> list[Match]:
        text = self.speller.correct(text)
        lowered = text.lower()
        windows = [c for c in (content(part) for part in clauses(text)) if c]
        if not windows:
            return []
        matches = []
        for flow in self.flows:
            best = 0.0
            for window in windows:
                for example in self._examples[flow.id]:
                    if not example:
                        continue
                    score = 0.55 * fuzz.token_set_ratio(window, example) + 0.45 * fuzz.token_sort_ratio(
                        window, example
                    )
                    best = max(best, score)
            keyword = any(k.search(lowered) for k in self._keywords[flow.id])
            if keyword:
                best = min(100.0, best + 22.0)
            matches.append(Match(flow.id, best, keyword))
        return sorted(matches, key=lambda m: -m.score)

    def best(self, text: str) -> tuple[Match | None, list[Match]]:
        """The confident match (or None) and the close candidates when it is ambiguous."""
        everything = self.rank(text)
        ranked = [m for m in everything if m.score >= THRESHOLD]
        if not ranked:
            top = everything[0] if everything else None
            runner_up = everything[1].score if len(everything) > 1 else 0.0
            if (
                top is not None
                and top.keyword
                and top.score >= KEYWORD_FLOOR
                and top.score - runner_up >= KEYWORD_LEAD
            ):
                return top, []
            return None, []
        close = [m for m in ranked if ranked[0].score - m.score <= MARGIN]
        if len(close) > 1 and ranked[0].score < 99:
            return None, close
        return ranked[0], []
