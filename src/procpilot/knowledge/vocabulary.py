"""The words of a collection: how rare each is, and the nearest known word to a misspelt one.

Built from every chunk of a collection (titles included), so "mobile chek deposit" searches for
"check" and "withdrawl" for "withdrawal". Correction looks only at words the collection does not
hold, and only at known words close enough to be the same word mistyped: edit distance 1 for words
of up to five letters, 2 for longer ones (a letter added, dropped, changed or two swapped), the most
frequent one winning. Words of a dictionary (the embedding model's vocabulary) are never
corrected: "hook" is not a misspelt "look" because no document says "hook". Candidates come from a delete index (every known word with one letter
removed), which finds all of them without comparing against the whole vocabulary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits) of ``text``."""
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    """A crude stem, the first five letters: "deposits" and "deposit" meet, "saver" and "savings" do not."""
    return word[:5]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): edits, a swap of neighbours counting one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


class Vocabulary:
    """Word and document frequencies of a collection's texts (one text per chunk)."""

    def __init__(self, texts: Iterable[str], *, dictionary: frozenset[str] = frozenset()) -> None:
        self.dictionary = dictionary  # words that are right as written, though no text holds them
        self.counts: Counter[str] = Counter()
        self.document_counts: Counter[str] = Counter()
        self.texts = 0
        for text in texts:
            found = words(text)
            self.counts.update(found)
            self.document_counts.update({stem(w) for w in found})
            self.texts += 1
        self._index: dict[str, list[str]] = {}
        for word in self.counts:
            if len(word) >= 4 and not word.isdigit():
                for variant in _deletes(word) | {word}:
                    self._index.setdefault(variant, []).append(word)

    def __contains__(self, word: object) -> bool:
        return word in self.counts

    def idf(self, word: str) -> float:
        """Inverse document frequency of the word's stem: rare words weigh more; unknown ones most."""
        return math.log((self.texts + 1) / (self.document_counts.get(stem(word), 0) + 0.5))

    def correct(self, word: str) -> str:
        """The word itself when known (or too short, or a number), else the likeliest known word meant."""
        if word in self.counts or word in self.dictionary or len(word) < 4 or any(c.isdigit() for c in word):
            return word
        limit = 1 if len(word) <= 5 else 2
        candidates: set[str] = set()
        for variant in _deletes(word) | {word}:
            candidates.update(self._index.get(variant, ()))
        close = [c for c in candidates if distance(word, c) <= limit]
        if not close:
            return word
        return max(close, key=lambda c: (-distance(word, c), self.counts[c], c))

    def unknown(self, terms: Iterable[str]) -> list[str]:
        """The terms whose stem appears in none of the texts."""
        return [t for t in terms if self.document_counts.get(stem(t), 0) == 0]
