"""Pure parts of retrieval: the words of a question worth searching for, and rank fusion."""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "tell",
        "know",
        "about",
        "any",
        "all",
        "also",
        "get",
        "got",
        "want",
        "need",
    ]
)


def query_terms(text: str, *, limit: int = 24) -> list[str]:
    """Lower-cased words of ``text`` (letters and digits only), without stop words or repeats."""
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in STOP_WORDS and word not in seen and (len(word) > 1 or word.isdigit()):
            seen.append(word)
    return seen[:limit]


def fuse(rankings: Sequence[Sequence[int]], *, k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each ranking adds 1 / (k + rank) to an item; best first.

    Ties keep the order of first appearance, so fusing one ranking returns it unchanged.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
