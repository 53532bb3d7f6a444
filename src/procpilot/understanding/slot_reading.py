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
from dataclasses import dataclass
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
_COMMON_WORDS = (
    "the a an my of to for and or in on with from is it this that one ending card order item items"
)
_COMMON = frozenset(_COMMON_WORDS.split())
_ADDRESS = re.compile(
    r"\b\d{1,6}\s+[A-Za-z0-9 .'-]+?(?:,\s*[A-Za-z0-9 .#'-]+?)?,\s*[A-Za-z .'-]+,\s*[A-Z]{2}\s+\d{5}\b"
)
_MERCHANT = re.compile(r"\bat\s+(?P<m>[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*)*)")
_BRACKETS = re.compile(r"\((?P<r>[^)]{4,80})\)")
_TRAILING = re.compile(r",\s*(?P<r>(?:the |a |an |my )?[a-z][a-z ]{5,80}?)\s*[.!]?$")
_BECAUSE = re.compile(
    r"\b(?:it'?s for|for|because|since|as)\s+(?P<r>(?:the |a |an |my )?[a-z].{3,80}?)\s*(?:[,.;!(]|$)"
)


def _numbers_with_unit(text: str, slot: SlotDef) -> int | None:
    """A number said with a unit the slot's description uses: "3 days" for "number of working days"."""
    units = [
        w for w in mentions.words(slot.description) if len(w) > 3 and w not in ("number", "many", "working")
    ]
    for unit in units:
        singular = unit.rstrip("s")
        match = re.search(
            rf"\b(\d+|{'|'.join(k for k in _WORD_NUMBERS)})\s+(?:working\s+|more\s+)?{singular}s?\b",
            text,
            re.IGNORECASE,
        )
        if match:
            token = match.group(1).lower()
            return int(token) if token.isdigit() else _WORD_NUMBERS[token]
    return None


_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
}  # fmt: skip


@dataclass(frozen=True)
class Ambiguous:
    """Words that fit several options equally: the person must say which."""

    candidates: tuple[Any, ...]


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
    if (
        slot.multiple
        and asked
        and re.search(r"\b(all( of them| items| the items)?|everything|both( of them)?)\b", lowered)
    ):
        return [o.value for o in options]
    if slot.newest and re.search(r"\b(most recent|latest|last|newest|recent)\b", lowered):
        newest = options[0] if slot.newest == "first" else options[-1]
        if not slot.multiple and re.search(r"\b(order|one|purchase)\b", lowered):
            return newest.value
    by_price = _by_price(lowered, options) if asked or slot.options_from else None
    if by_price is not None and not slot.multiple:
        return by_price.value
    phrase = by_phrase(text, options)
    if phrase is not None:
        return [phrase.value] if slot.multiple else phrase.value
    without_order, reference = mentions.order_reference(text)
    if reference and (slot.option_value == "order_id" or "order" in slot.description.lower()):
        found = mentions.order_by_items(reference, options)
        if found is not None:
            return found.value
    named = mentions.named_items(without_order, options)
    if named:
        if slot.multiple:
            values: list[Any] = []
            for option in named:
                head = (mentions.words(mentions.item_name(option.label)) or [""])[-1]
                if _negated(without_order, option):
                    continue  # "everything except the pet bed"
                twins = [o for o in named if mentions.item_name(o.label) == mentions.item_name(option.label)]
                if len(twins) == 1:
                    resolved = [option]
                else:
                    # "the black toothbrush and the blue toothbrush": each mention on its own.
                    picks = [
                        mentions.distinguish(part, twins)
                        for part in mentions.mentions_of(without_order, head)
                    ]
                    resolved = [p[0] for p in picks if len(p) == 1]
                    if not resolved:
                        return Ambiguous(tuple(o.value for o in twins)) if asked else None
                for pick in resolved:
                    if pick.value not in values:
                        values.append(pick.value)
            return values or None
        names = {mentions.item_name(o.label).lower() for o in named}
        if len(names) == 1:
            chosen = mentions.distinguish(without_order, named) if len(named) > 1 else named
            if len(chosen) == 1:
                return chosen[0].value
            return Ambiguous(tuple(o.value for o in chosen)) if asked else None
        return None  # several different items named for one: ask
    if _variants(options):
        anchor = _anchor(labels)
        part = (
            mentions.segment(text, mentions.item_name(anchor), mentions.other_names(labels))
            if anchor
            else text
        )
        found_variant = mentions.variant(part, options, ties_first=slot.ties == "first")
        if found_variant is not None:
            return [found_variant.value] if slot.multiple else found_variant.value
    unique = unique_word(text, options)
    if unique is not None:
        return [unique.value] if slot.multiple else unique.value
    if asked:
        fuzzy = extractors.choices(text, options, multiple=slot.multiple)
        if fuzzy:
            return fuzzy if slot.multiple else fuzzy[0]
    return None


_PRICE = re.compile(r"\$\s?([\d,]+(?:\.\d+)?)")
_CHEAP = re.compile(r"\b(cheaper|cheapest|least expensive|lowest price|less expensive)\b")
_DEAR = re.compile(r"\b(more expensive|most expensive|priciest|pricier|highest price)\b")


def _by_price(lowered: str, options: tuple[Option, ...]) -> Option | None:
    """ "The cheaper one" / "the most expensive one": by the prices the labels show."""
    wants = "low" if _CHEAP.search(lowered) else "high" if _DEAR.search(lowered) else None
    if wants is None:
        return None
    priced = []
    for option in options:
        found = _PRICE.findall(option.label)
        if found:
            priced.append((float(found[-1].replace(",", "")), option))
    if len(priced) < 2:
        return None
    priced.sort(key=lambda pair: pair[0])
    best = priced[0] if wants == "low" else priced[-1]
    ties = [o for p, o in priced if p == best[0]]
    return best[1] if len(ties) == 1 else None


def _variants(options: tuple[Option, ...]) -> bool:
    return any(":" in o.label for o in options)


def with_earlier_words(
    text: str, options: tuple[Option, ...], labels: Mapping[str, str], notes: Sequence[str]
) -> str:
    """A correction of a variant ("no, I wanted high") read together with what was said about the
    item before ("the helmet in size M"), so the options that still hold are kept."""
    anchor = _anchor(labels)
    if not anchor or not _variants(options):
        return text
    others = [n for n in mentions.other_names(labels) if n.lower() != mentions.item_name(anchor).lower()]
    if not mentions.named_items(text, (Option(None, anchor),)) and any(
        mentions.named_items(text, (Option(None, other),)) for other in others
    ):
        return ""  # it corrects another item, not this one
    about = [n for n in notes if n != text and mentions.named_items(n, (Option(None, anchor),))]
    return " ".join([*about[-1:], text])


_ADD = re.compile(r"\b(also|too|as well|add|plus)\b", re.IGNORECASE)
_ONLY = re.compile(r"\b(just|only|instead)\b", re.IGNORECASE)
_NOT = re.compile(r"\b(not|no|without|remove|drop|except)\s+(the\s+|my\s+|a\s+)?$", re.IGNORECASE)
_NOT_WORD = re.compile(r"\b(not|no|without|remove|drop|except)\b", re.IGNORECASE)


def _negated(text: str, option: Option) -> bool:
    """Whether the text says the option's name right after "not", "no", "without", "except"."""
    name = mentions.words(mentions.item_name(option.label))
    if not name:
        return False
    lowered = text.lower()
    found = [m.start() for word in name for m in [re.search(rf"\b{re.escape(word)}", lowered)] if m]
    if not found:
        return False
    at = min(found)  # where the name begins as said ("the thermostat" for "Smart Thermostat")
    return bool(_NOT.search(lowered[max(0, at - 16) : at]))


def list_change(text: str, options: tuple[Option, ...], current: list[Any]) -> list[Any] | None:
    """A change of a list of items in words: "not the tablet, just the e-reader", "also the
    kettle", "remove the lamp". None when the text does not change the list."""
    if not (_ADD.search(text) or _ONLY.search(text) or _NOT_WORD.search(text)):
        return None
    named = mentions.named_items(text, options)
    if not named:
        return None
    dropped: list[Any] = []
    kept: list[Any] = []
    for option in named:
        (dropped if _negated(text, option) else kept).append(option.value)
    if _ONLY.search(text) and kept:
        return kept
    result = [v for v in current if v not in dropped]
    if _ADD.search(text):
        result += [v for v in kept if v not in result]
    return result if result != current else None


def _anchor(labels: Mapping[str, str]) -> str:
    """The label of the one item the flow is working on (its options are that item's variants)."""
    return next(
        (
            label
            for name, label in labels.items()
            if "item" in name and label and " | " not in label and ":" not in label.split(" (")[0]
        ),
        "",
    )


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
        if match:
            return match.group("m").strip()
        # "expense claim: $89.99, a keyboard, Tech Store, 28 November": the part in capitals.
        for part in re.split(r"[,;:]", text)[1:]:
            part = part.strip()
            if re.fullmatch(r"[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*)*", part) and not _DATE_WORDS.search(part):
                return part
        return None
    if "reason" in meaning or "why" in meaning or "need it for" in meaning:
        for pattern in (_BECAUSE, _BRACKETS, _TRAILING):
            match = pattern.search(text)
            if match and not re.match(r"\d|\w+ days?\b", match.group("r")):
                return match.group("r").strip()
        return None
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
    anchor = _anchor(labels)
    if anchor and _variants(options):
        # Everything said about this item, in every note that names it (a later "the water
        # bottle should be 750ml" adds to the opening's "glass, in black").
        name = mentions.item_name(anchor)
        others = mentions.other_names(labels)
        parts = [
            mentions.segment(text, name, others)
            for text in notes
            if mentions.named_items(text, (Option(None, anchor),))
        ]
        found = mentions.variant(parts, options, ties_first=slot.ties == "first") if parts else None
        return None if found is None else ([found.value] if slot.multiple else found.value)
    for text in reversed(notes):
        value = read(slot, text, options, labels, now=now, timezone=timezone, asked=False)
        if value not in (None, []) and not isinstance(value, Ambiguous):
            return value
    return None
