"""What simulated people share: seeded variation, typos, and reading what the assistant asks.

A simulated person reads the assistant's words as a person does (what is it asking me?) and
never its buttons, slot names or events. Typos are the everyday kind: a letter dropped, doubled
or swapped in a longer word, never inside an id, an email or a number.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

_PROTECTED = re.compile(r"[@#\d]")


class Voice:
    """Seeded choices of wording and the occasional typo."""

    def __init__(self, seed: int, typo_rate: float = 0.12) -> None:
        self.random = random.Random(seed)
        self.typo_rate = typo_rate

    def pick(self, options: Sequence[str]) -> str:
        return self.random.choice(list(options))

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def typo(self, text: str) -> str:
        """``text`` with, now and then, one slip of the keyboard in a word of five letters or more."""
        if not self.chance(self.typo_rate):
            return text
        words = text.split(" ")
        candidates = [
            # Not in names (capitalised): people rarely misspell their own or a brand's.
            i
            for i, w in enumerate(words)
            if len(w) >= 5 and w.isalpha() and w.islower() and not _PROTECTED.search(w)
        ]
        if not candidates:
            return text
        i = self.random.choice(candidates)
        word = words[i]
        at = self.random.randrange(1, len(word) - 1)
        kind = self.random.randrange(3)
        if kind == 0:  # a letter dropped
            word = word[:at] + word[at + 1 :]
        elif kind == 1:  # a letter doubled
            word = word[:at] + word[at] + word[at:]
        else:  # two letters swapped
            word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
        words[i] = word
        return " ".join(words)


def asks(text: str, *patterns: str) -> bool:
    """Whether the assistant's ``text`` asks about any of ``patterns`` (regular expressions)."""
    return any(re.search(p, text, re.IGNORECASE) for p in patterns)


def question(messages: Sequence[str]) -> str:
    """The part of a reply a person answers: the last message, which is where the question is."""
    return messages[-1] if messages else ""


class Person:
    """What every simulated person keeps: the facts they have given, and the ones asked again."""

    def __init__(self) -> None:
        self.stated: set[str] = set()  # facts already given
        self.asked_again = 0
        self.repeated: list[str] = []  # which facts were asked for again
        self.handed_off = False

    def _again(self, fact: str) -> None:
        """The assistant asks for ``fact``: counted when it was given before."""
        if fact in self.stated:
            self.asked_again += 1
            self.repeated.append(fact)
        self.stated.add(fact)
