"""Reading one slot's value from a person's words, asked or not.

``read`` answers "what does this text say for this slot?" for an open question, and ``recall``
answers it for the notes of the person's request (what they said before the question existed:
the opening message with its order, items, new options, refund method and reason). Choices are
read in free words: ids, ordinals, item names, attributes in any order ("red, softshell,
2-piece"), the order "with the laptop in it", a card "ending in 3194", a pack's synonyms.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from procpilot.domain.slots import Option, SlotDef
from procpilot.understanding import extractors, mentions

_DATE_WORDS = re.compile(
    r"\b(today|tomorrow|tonight|yesterday|next|this|last|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|in \w+ (days?|weeks?)|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2})\b",
    re.IGNORECASE,
)
_CURRENCY_WORDS = re.compile(r"[$€£]|\b(usd|eur|gbp|dollars?|euros?|pounds?)\b", re.IGNORECASE)
_COMMON = frozenset(
    "the a an my of to for and or in on with from is it this that one ending card order item items".split()
)
_ADDRESS = re.compile(
    r"\b\d{1,6}\s+[A-Za-z0-9 .'-]+?(?:,\s*[A-Za-z0-9 .#'-]+?)?,\s*[A-Za-z .'-]+,\s*[A-Z]{2}\s+\d{5}\b"
)
_MERCHANT = re.compile(r"\bat\s+(?P<m>[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*)*)")
_BECAUSE = re.compile(r"\b(?:it'?s for|for|because|since|as)\s+(?P<r>(?:the |a |an |my )?[a-z].{3,80}?)\s*(?:[,.;!(]|$)")


def _numbers_with_unit(text: str, slot: SlotDef) -> int | None:
    """A number said with a unit the slot's description uses: "3 days" for "number of working days"."""
    units = [w for w in mentions.words(slot.description) if len(w) > 3 and w not in ("number", "many", "working")]
    for unit in units:
        singular = unit.rstrip("s")
        match = re.search(
            rf"\b(\d+|{'|'.join(k for k in _WORD_NUMBERS)})\s+(?:working\s+|more\s+)?{singular}s?\b", text, re.IGNORECASE
        )
        if match:
            token = match.group(1).lower()
            return int(token) if token.isdigit() else _WORD_NUMBERS[token]
    return None


_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
}  # fmt: skip


def unique_word(text: str, options: tuple[Option, ...]) -> Option | None:
    """The one option whose label holds a word of the text that no other label holds ("paypal",
    "3194", "gift")."""
    tokens = {t for t in mentions.words(text) if t not in _COMMON and (len(t) >= 4 or t.isdigit())}
    hits = []
    labels = [set(mentions.words(o.label)) for o in options]
    for option, label in zip(options, labels, strict=True):
        own = {t for t in label if sum(t in other for other in labels) == 1}
        if tokens & own:
            hits.append(option)
    return hits[0] if len(hits) == 1 else None


def by_phrase(text: str, options: tuple[Option, ...]) -> Option | None:
    """The one option whose label or a synonym is said as a whole phrase."""
    tokens = mentions.words(text)
    hits = [
        o
        for o in options
        if any(mentions._phrase_in(p, tokens) for p in (o.label, *o.synonyms) if len(mentions.words(p)) >= 1)
    ]
    hits = [o for o in hits if str(o.label).lower() not in ("other",) or len(hits) == 1]
    return hits[0] if len(hits) == 1 else None


def choose(
    slot: SlotDef, text: str, options: tuple[Option, ...], labels: Mapping[str, str], *, asked: bool
) -> Any:
    """The option value(s) the text names, or None. ``asked``: the text answers this slot's question."""
    if not options:
        return None
    lowered = text.lower()
    ids = {re.sub(r"[^a-z0-9]", "", w) for w in re.split(r"[\s,;()]+", lowered) if w}
    by_value = [o.value for o in options if re.sub(r"[^a-z0-9]", "", str(o.value).lower()) in ids]
    if by_value:
        return by_value if slot.multiple else by_value[0]
    if slot.multiple and asked and re.search(r"\b(all( of them| items| the items)?|everything|both( of them)?)\b", lowered):
        return [o.value for o in options]
    without_order, reference = mentions.order_reference(text)
    if slot.option_value == "order_id" or "order" in slot.description.lower():
        if reference:
            found = mentions.order_by_items(reference, options)
            if found is not None:
                return found.value
    named = mentions.named_items(without_order, options)
    if named:
        if slot.multiple:
            values: list[Any] = []
            for option in named:
                twins = [o for o in named if mentions.item_name(o.label) == mentions.item_name(option.label)]
                chosen = mentions.distinguish(without_order, twins) if len(twins) > 1 else [option]
                if len(chosen) == 1 and chosen[0].value not in values:
                    values.append(chosen[0].value)
            return values or None
        names = {mentions.item_name(o.label).lower() for o in named}
        if len(names) == 1:
            chosen = mentions.distinguish(without_order, named) if len(named) > 1 else named
            return chosen[0].value if len(chosen) == 1 else None
        return None  # several different items named for one: ask
    if any(":" in o.label for o in options) or labels:
        anchor = next((label for name, label in labels.items() if "item" in name and " | " not in label), "")
        part = mentions.segment(text, mentions.item_name(anchor), mentions.other_names(labels)) if anchor else text
        found_variant = mentions.variant(part, options, ties_first=slot.ties == "first")
        if found_variant is not None:
            return [found_variant.value] if slot.multiple else found_variant.value
    phrase = by_phrase(text, options)
    if phrase is not None:
        return [phrase.value] if slot.multiple else phrase.value
    unique = unique_word(text, options)
    if unique is not None:
        return [unique.value] if slot.multiple else unique.value
    if asked:
        found = extractors.choices(text, options, multiple=slot.multiple)
        if found:
            return found if slot.multiple else found[0]
    return None


def read(
    slot: SlotDef,
    text: str,
    options: tuple[Option, ...],
    labels: Mapping[str, str],
    *,
    now: dt.datetime,
    timezone: str,
    asked: bool,
) -> Any:
    """The value ``text`` gives for ``slot``, or None. Unasked, only what the words make plain."""
    kind = slot.type
    if kind == "choice":
        return choose(slot, text, options, labels, asked=asked)
    if kind in ("date", "datetime"):
        if not asked and not _DATE_WORDS.search(text):
            return None
        return extractors.date(
            text, now=now, timezone=timezone, with_time=kind == "datetime", direction=slot.direction
        )
    if kind == "money":
        if not asked and not _CURRENCY_WORDS.search(text):
            return None
        return extractors.money(text, slot.currency)
    if kind in ("integer", "number"):
        with_unit = _numbers_with_unit(text, slot)
        if with_unit is not None or not asked:
            return with_unit
        return extractors.value_for(slot, text, options, now=now, timezone=timezone)
    if kind in ("email", "phone"):
        return extractors.value_for(slot, text, options, now=now, timezone=timezone)
    if kind == "text" and slot.pattern:
        return extractors.pattern(text, slot.pattern)
    if kind == "text" and slot.name in ("first_name", "last_name"):
        names = extractors.name(text)
        if names:
            return names[0] if slot.name == "first_name" else names[1]
        return None
    if kind == "text" and not asked:
        return free_text(slot, text)
    return None


def free_text(slot: SlotDef, text: str) -> str | None:
    """A free-text value said in passing: an address, a merchant ("at Cafe Rossi"), a reason."""
    meaning = f"{slot.name} {slot.description}".lower()
    if "address" in meaning:
        match = _ADDRESS.search(text)
        return match.group(0) if match else None
    if "merchant" in meaning:
        match = _MERCHANT.search(text)
        return match.group("m").strip() if match else None
    if "reason" in meaning or "why" in meaning or "need it for" in meaning:
        match = _BECAUSE.search(text)
        return match.group("r").strip() if match else None
    return None


def recall(
    slot: SlotDef,
    options: tuple[Option, ...],
    notes: Sequence[str],
    labels: Mapping[str, str],
    *,
    now: dt.datetime,
    timezone: str,
) -> Any:
    """What the notes of the request say for ``slot`` (the newest note first), or None."""
    if slot.type == "boolean":
        return None
    for text in reversed(notes):
        value = read(slot, text, options, labels, now=now, timezone=timezone, asked=False)
        if value not in (None, []):
            return value
    return None
