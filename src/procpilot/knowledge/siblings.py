"""Sibling documents: the same thing said of different products, when the question names none.

"What is the daily mobile deposit limit?" fits "Gold Account: Mobile banking and deposit limits"
and "Silver Account: Mobile banking and deposit limits" about equally; answering from either is a
guess. Two documents are siblings for a question when their titles share a subject (a word in
common) and each has words the other lacks (the names: "Gold", "Silver") that the question does not
mention, and they are not parts of one family (files named alike but for a trailing number, like
``gold_account_003.json`` and ``gold_account_011.json``: one subject's documents). A question that
names one ("my Gold account") is not ambiguous, and neither is one whose
best document's title is the plainer name ("Gold Account" against "Gold Plus Account" for "Gold").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from procpilot.knowledge.vocabulary import stem, words

MAX_CHOICES = 3


def family(source: str) -> str:
    """The subject a document belongs to, by its file's name with any trailing number removed."""
    path = PurePosixPath(source.split("#", 1)[-1] if "#" in source else source)
    return str(path.parent / re.sub(r"[-_ ]*\d+$", "", path.stem))


def title_stems(title: str, generic: frozenset[str]) -> set[str]:
    return {stem(w) for w in words(title) if len(w) > 2 and stem(w) not in generic}


def siblings(
    question: dict[str, float],
    documents: Sequence[tuple[int, str, float, str]],
    generic: frozenset[str],
    *,
    margin: float = 1.0,
) -> list[tuple[int, str]]:
    """The documents to ask between, best first, or [] when the best one is clearly meant.

    ``question``: the question's stems (weights unused); ``documents``: (id, title, score, source) of ranked
    passages, best first (a document may repeat; its first place counts).
    """
    seen: dict[int, tuple[str, float, str]] = {}
    for document_id, title, score, source in documents:
        seen.setdefault(document_id, (title, score, family(source)))
    ranked = list(seen.items())
    if len(ranked) < 2:
        return []
    asked = set(question)
    first_id, (first_title, first_score, first_family) = ranked[0]
    first = title_stems(first_title, generic)
    choices = [(first_id, first_title)]
    titles = {first_title.casefold()}
    families = {first_family}
    for document_id, (title, score, kin) in ranked[1:6]:
        if first_score - score > margin or len(choices) == MAX_CHOICES:
            break
        if kin in families:
            continue
        other = title_stems(title, generic)
        mine, theirs = first - other, other - first
        if not (first & other) or not mine or not theirs or title.casefold() in titles:
            continue
        if mine & asked:
            return []  # the question names the best document's own words
        if theirs & asked:
            continue
        choices.append((document_id, title))
        titles.add(title.casefold())
        families.add(kin)
    return choices if len(choices) > 1 else []


def plainer(
    question: dict[str, float],
    documents: Sequence[tuple[int, str, float, str]],
    generic: frozenset[str],
    *,
    margin: float = 1.0,
) -> int | None:
    """A close runner-up whose title is the best one's without words the question does not use:
    "Silver Plus Account" for "silver plus acct" ahead of "Silver Plus Saver Account". Its id, or None."""
    seen: dict[int, tuple[str, float, str]] = {}
    for document_id, title, score, source in documents:
        seen.setdefault(document_id, (title, score, family(source)))
    ranked = list(seen.items())
    if len(ranked) < 2:
        return None
    _, (first_title, first_score, first_family) = ranked[0]
    first = title_stems(first_title, generic)
    for document_id, (title, score, kin) in ranked[1:4]:
        if first_score - score > margin:
            break
        other = title_stems(title, generic)
        extra = first - other
        if kin != first_family and other and other < first and not (extra & set(question)):
            return document_id
    return None
