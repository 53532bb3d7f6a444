"""Spelling correction against a pack's own words: "I'd like to requst some leav" reads as
"request some leave" when those are words of the pack's flows.

Only words the pack does not know are touched, only towards one pack word that is close (one or
two letters off, by rapidfuzz's similarity), and never numbers, ids or short words: a typo of a
word the pack does not use is left alone rather than turned into a pack word it is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

_TOKEN = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
# Everyday words a pack seldom lists, kept as they are even when close to a pack word.
_COMMON_WORDS = """
    about after again also another anything anyway back because been before being below better both
    bought came change could didn't does doesn't doing done down each even every first found from
    going gone good great have having hello here hers himself into just keep know last later least
    like little long look made make many maybe mine more most much must myself need never next none
    nothing once only other ours over please quite really right said same should since some something
    soon still such sure than thank thanks that their them then there these they thing think this
    those though thought through today told took under until upon very want wanted well went were
    what when where which while will wish with without would wrong yesterday your yours
"""
COMMON = frozenset(_COMMON_WORDS.split())


class Speller:
    """Corrects words against ``vocabulary`` (the pack's words)."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.words = sorted({w.lower() for w in vocabulary if len(w) >= 4 and w.isalpha()})
        self._known = frozenset(self.words) | COMMON

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Speller:
        return cls(w for text in texts for w in _TOKEN.findall(text.lower()) if "'" not in w)

    def correct_word(self, word: str) -> str:
        lowered = word.lower()
        if len(lowered) < 4 or lowered in self._known or not lowered.isalpha() or not self.words:
            return word
        limit = 80 if len(lowered) >= 6 else 75
        found = process.extract(lowered, self.words, scorer=fuzz.ratio, limit=2, score_cutoff=limit)
        if not found or (len(found) > 1 and found[1][1] == found[0][1]):
            return word
        best = found[0][0]
        if abs(len(best) - len(lowered)) > 2:
            return word
        return best

    def correct(self, text: str) -> str:
        """``text`` with unknown words that are one or two letters off a pack word corrected."""
        return _TOKEN.sub(
            lambda m: self.correct_word(m.group(0)) if "'" not in m.group(0) else m.group(0), text
        )
