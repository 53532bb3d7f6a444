"""Which options a person's words name: items by their names, variants by their attributes,
orders by what is in them. Precision before recall: an option is taken only when the words name
it and no other option as well.

Option labels are read the way a person reads them: ``Mechanical Keyboard (clicky, RGB, full
size), $226.02`` is a name with attributes; ``switch type: clicky, backlight: none, size: full
size, $226.02`` is a list of attributes; ``#W2378156 (delivered): Headphones, Mechanical
Keyboard`` is an order with the names of what is in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rapidfuzz import fuzz

from procpilot.domain.slots import Option

_PRICE = re.compile(r",?\s*\$[\d,]+(\.\d+)?\s*$")
_WORD = re.compile(r"[a-z0-9]+")
# "the order with the keyboard and the lamp": words about an order, not about the items wanted.
_ORDER_REFERENCE = re.compile(
    r"\b(?:the|my|an?|in|from|of)?\s*(?:pending |delivered |last |recent |other )?(?:order|ordr|oder|odrer)\s+"
    r"(?:that\s+)?(?:with|has|had|having|containing|contains|that has|where i (?:got|bought))\s+"
    r"(?P<items>.+?)(?=(?:[,.;!?]|\bi\b|\band i\b|\bbut\b|\bplease\b|$))",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(no|not|non|without)\s*-?\s*$")


def words(text: str) -> list[str]:
    """Lower-case words; "I'm" is one word, "2-piece" two."""
    return _WORD.findall(text.lower().replace("'", "").replace("\u2019", "").replace("-", " "))


def _has_word(word: str, tokens: Sequence[str]) -> bool:
    """``word`` among ``tokens``, allowing a typo in words of five letters or more."""
    if word in tokens:
        return True
    if len(word) < 5 or any(c.isdigit() for c in word):
        # Plurals ("inches", "switches"); a number ("750ml") is said exactly or not at all.
        return not any(c.isdigit() for c in word) and any(
            t.rstrip("es") == word.rstrip("es") and len(t) >= 3 for t in tokens
        )
    # One slip of the keyboard: a letter dropped, doubled or swapped.
    return any(abs(len(t) - len(word)) <= 1 and fuzz.ratio(word, t) >= 80 for t in tokens)


def _phrase_in(phrase: str, tokens: Sequence[str]) -> bool:
    wanted = words(phrase)
    return bool(wanted) and all(_has_word(w, tokens) for w in wanted)


def order_reference(text: str) -> tuple[str, str]:
    """(the text without its order reference, the items the reference names)."""
    match = _ORDER_REFERENCE.search(text)
    if not match:
        return text, ""
    return text[: match.start()] + " " + text[match.end() :], match.group("items")


def item_name(label: str) -> str:
    """The name part of an item label: ``Mechanical Keyboard`` of ``Mechanical Keyboard (...), $1``."""
    return _PRICE.sub("", label).split(" (")[0].strip()


def attributes(label: str) -> list[tuple[str, str]]:
    """``[(key, value)]`` of a variant label ``key: value, key: value, $price`` (keys may be empty)."""
    body = _PRICE.sub("", label)
    if "(" in body:  # "Name (a, b, c)": the attributes are inside the brackets
        body = body[body.index("(") + 1 : body.rindex(")")] if ")" in body else body
    out = []
    for part in body.split(","):
        key, _, value = part.rpartition(":")
        if part.strip():
            out.append((key.strip().lower(), value.strip().lower()))
    return out


def _attribute_said(key: str, value: str, text: str, tokens: Sequence[str]) -> bool:
    if value in ("yes", "no", "none"):
        key_words = words(key)
        if not key_words or not _has_word(key_words[-1], tokens):
            return False
        at = _find(key_words[0], text)
        negated = at is not None and bool(_NEGATION.search(text[max(0, at - 12) : at]))
        return negated if value in ("no", "none") else not negated
    if len(value) <= 2 and value.isalpha():
        # A size such as "M" or "XL" counts only as a size ("size M", "M size") or in capitals.
        key_word = (words(key) or ["size"])[-1]
        return bool(
            re.search(rf"\b{key_word}\s+{value}\b|\b{value}\s+{key_word}\b", text, re.IGNORECASE)
            or re.search(rf"(?<![\w']){value.upper()}\b", text)
        )
    return _phrase_in(value, tokens)


def _find(word: str, text: str) -> int | None:
    lowered = text.lower()
    for token in re.finditer(r"[a-z0-9]+", lowered):
        candidate = token.group(0)
        if candidate == word or (
            len(word) >= 5 and abs(len(candidate) - len(word)) <= 1 and fuzz.ratio(word, candidate) >= 80
        ):
            return token.start()
    return None


def named_items(text: str, options: tuple[Option, ...]) -> list[Option]:
    """Options whose item name the text says (all its words, or its last word when that word
    is no other option's), in the order the text says them."""
    tokens = words(text)
    found: list[tuple[int, Option]] = []
    names = [item_name(o.label).lower() for o in options]
    for option, name in zip(options, names, strict=True):
        name_words = words(name)
        if not name_words:
            continue
        head = name_words[-1]
        head_unique = sum(1 for n in names if words(n) and words(n)[-1] == head) == sum(
            1 for n in names if n == name
        )
        if _phrase_in(name, tokens) or (head_unique and _has_word(head, tokens)):
            at = _find(head, text)
            found.append((at if at is not None else len(text), option))
    found.sort(key=lambda pair: pair[0])
    return [option for _, option in found]


def mentions_of(text: str, head: str) -> list[str]:
    """Each clause of ``text`` that says ``head`` ("the black toothbrush", "the blue toothbrush")."""
    parts = re.split(r",|;|\band\b|\bplus\b", text, flags=re.IGNORECASE)
    return [p for p in parts if head and _has_word(head, words(p))]


def distinguish(text: str, candidates: list[Option]) -> list[Option]:
    """Among options with the same name (two t-shirts), those whose attributes the text says most."""
    tokens = words(text)
    scored = [
        (sum(_attribute_said(k, v, text, tokens) for k, v in attributes(o.label)), o) for o in candidates
    ]
    best = max(score for score, _ in scored)
    return [o for score, o in scored if score == best]


def segment(text: str, anchor: str, others: Sequence[str]) -> str:
    """The part of ``text`` about ``anchor`` (an item name): from where it is said to where
    another of ``others`` is said."""
    head = words(anchor)[-1] if words(anchor) else ""
    start = _find(head, text) if head else None
    if start is None:
        return text
    end = len(text)
    for other in others:
        other_words = words(other)
        if not other_words or other_words[-1] == head:
            continue
        at = _find(other_words[-1], text[start + 1 :])
        if at is not None:
            end = min(end, start + 1 + at)
    return text[start:end]


def variant(text: str | Sequence[str], options: tuple[Option, ...], *, ties_first: bool) -> Option | None:
    """The option whose attributes the text says most (at least one); on a tie the first when
    the options come ranked, else None (ask). Several texts (oldest first) are read together,
    a newer one weighing a little more where they differ."""
    texts = [text] if isinstance(text, str) else list(text)
    tokens = [words(t) for t in texts]
    scored = []
    for option in options:
        said = 0.0
        for key, value in attributes(option.label):
            weights = [1 + 0.01 * i for i, t in enumerate(texts) if _attribute_said(key, value, t, tokens[i])]
            said += max(weights, default=0.0)
        scored.append((said, option))
    best = max((s for s, _ in scored), default=0)
    if best == 0:
        return None
    top = [o for s, o in scored if s == best]
    if len(top) == 1 or ties_first:
        return top[0]
    return None


def order_by_items(reference: str, options: tuple[Option, ...]) -> Option | None:
    """The one order whose items include every item the reference names."""
    tokens = words(reference)
    matches = []
    for option in options:
        _, _, contents = option.label.partition(":")
        names = [n.strip() for n in contents.split(",") if n.strip()]
        said = [n for n in names if _phrase_in(n, tokens) or _has_word(words(n)[-1], tokens)]
        if said:
            matches.append((len(said), option))
    if not matches:
        return None
    best = max(n for n, _ in matches)
    top = [o for n, o in matches if n == best]
    return top[0] if len(top) == 1 else None


def other_names(labels: Mapping[str, str]) -> list[str]:
    """Item names in the labels of the frame's filled item choices (several joined by `` | ``)."""
    out = []
    for name, label in labels.items():
        if "item" not in name:
            continue
        out += [item_name(part) for part in label.split(" | ") if part]
    return out
