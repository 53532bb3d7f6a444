"""Slot extractors: find a value of a given type in free text.

Each returns the raw value it found (or None); the engine's ``coerce`` has the final word.
Dates come from dateparser, fuzzy choices from rapidfuzz, phone numbers from phonenumbers.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import phonenumbers
from dateparser.search import search_dates
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from procpilot.domain.slots import Option, SlotDef

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_MONEY = re.compile(
    r"(?P<pre>[$€£]|\b(?:usd|eur|gbp)\b)?\s*(?P<amount>\d[\d,]*(?:\.\d{1,2})?)\s*(?P<post>\b(?:usd|eur|gbp|dollars?|euros?|pounds?)\b)?",
    re.IGNORECASE,
)
_CURRENCY = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "dollar": "USD",
    "dollars": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
}
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_WORD_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a": 1,
    "an": 1,
}
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "sixth": 5,
    "6th": 5,
    "seventh": 6,
    "7th": 6,
    "eighth": 7,
    "8th": 7,
    "last": -1,
    "latest": -1,
    "most recent": -1,
}
YES = re.compile(
    r"^(yes|yeah|yep|yup|ya|sure|correct|right|ok|okay|confirm(ed)?|affirmative|absolutely|of course|"
    r"please do|go ahead|do it|that'?s (right|correct)|sounds good|proceed|y)\b",
    re.IGNORECASE,
)
NO = re.compile(
    r"^(no|nope|nah|don'?t|do not|negative|not really|wrong|n|that'?s (wrong|not right)|never mind|stop)\b",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(the|a|an|one|ones|my|i|i'd|i'll|want|would|like|to|please|return|exchange|it|item|items|ok|okay|"
    r"then|use|go|with|on|onto|into|of|take|let's|lets|just|refund|send|choose|pick|prefer|that|this|"
    r"instead|rather|yes|sure|well|hmm|so|and|for|me)\b",
    re.IGNORECASE,
)
_ALL = re.compile(r"\b(all( of them| items| the items)?|everything|both( of them)?)\b", re.IGNORECASE)


_LEAD = re.compile(r"^\s*(sorry|well|um+|uh+|hmm+|oh|ah|actually|ok so)[,.!]?\s+", re.IGNORECASE)


def yes_no(text: str) -> bool | None:
    """True for a yes, False for a no, None for neither ("sorry, no, that's all" is a no)."""
    cleaned = _LEAD.sub("", text.strip()).strip("!.").strip()
    if YES.match(cleaned):
        return True
    if NO.match(cleaned):
        return False
    return None


def email(text: str) -> str | None:
    match = EMAIL.search(text)
    return match.group(0).lower() if match else None


def phone(text: str, region: str = "US") -> str | None:
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


def money(text: str, currency: str = "USD") -> dict[str, str] | None:
    for match in _MONEY.finditer(text):
        amount = match.group("amount").replace(",", "")
        unit = (match.group("pre") or match.group("post") or "").lower()
        return {"amount": amount, "currency": _CURRENCY.get(unit, currency)}
    return None


def number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if match:
        return float(match.group(0).replace(",", ""))
    lowered = text.lower()
    for word, value in sorted(_WORD_NUMBERS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", lowered) and len(word) > 2:
            return float(value)
    return None


def date(
    text: str, *, now: dt.datetime, timezone: str = "UTC", with_time: bool = False, direction: str = "any"
) -> str | None:
    """An ISO date (or datetime) for the first date phrase in ``text``, relative to ``now``.
    ``direction`` past reads "28 November" as the last one, future (and any) as the next one."""
    settings: dict[str, Any] = {
        "PREFER_DATES_FROM": "past" if direction == "past" else "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "TIMEZONE": timezone,
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    weekday = _weekday(text, now.date())
    if weekday is not None:
        return weekday.isoformat()
    # "3 days of leave from Monday": the duration is not the date.
    text = re.sub(
        r"(?<!\bin )\b(\d+|a|one|two|three|four|five|six|seven|eight|nine|ten)\s+(working\s+)?(days?|weeks?)\b"
        r"(?!\s+(ago|from now|later))",
        " ",
        text,
        flags=re.IGNORECASE,
    )
    found = search_dates(text, languages=["en"], settings=settings)
    # An amount ("$42") or a bare number is no date; a duration ("three days") only when nothing
    # else is ("last week").
    found = [(p, v) for p, v in found or [] if not re.fullmatch(r"\W*[$€£]?\s*\d+(?:[.,]\d+)?\W*", p.strip())]
    if not found:
        return None
    _phrase, value = next(((p, v) for p, v in found if not re.fullmatch(r"\w+ (days?|weeks?)", p)), found[0])
    return value.isoformat() if with_time else value.date().isoformat()


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAY = rf"(?:{'|'.join(_WEEKDAYS)}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?)"
_RANGE = re.compile(
    rf"\b(?:from\s+)?(?P<a>{_DAY})\s*(?:to|until|till|through|-|\u2013)\s*(?P<b>{_DAY})(?P<week>\s+(?:next|this)\s+week)?",
    re.IGNORECASE,
)


def date_range(text: str, *, now: dt.datetime, timezone: str = "UTC") -> tuple[dt.date, dt.date] | None:
    """First and last day of "Monday to Wednesday next week" or "3 to 7 March" style ranges."""
    match = _RANGE.search(text)
    if not match:
        return None
    today = now.date()
    week = (match.group("week") or "").strip().lower()

    def one(part: str) -> dt.date | None:
        lowered = part.lower()
        if lowered in _WEEKDAYS:
            index = _WEEKDAYS.index(lowered)
            if week.startswith("next"):
                return today + dt.timedelta(days=7 - today.weekday() + index)
            if week.startswith("this"):
                return today + dt.timedelta(days=index - today.weekday())
            return today + dt.timedelta(days=(index - today.weekday()) % 7 or 7)
        found = date(part, now=now, timezone=timezone, direction="future")
        return dt.date.fromisoformat(found) if found else None

    start, end = one(match.group("a")), one(match.group("b"))
    if start is None or end is None:
        return None
    if end < start:
        end += dt.timedelta(days=7)
    return start, end


_WEEKDAY_PHRASE = re.compile(
    rf"\b(?P<which>next|this|coming|last|past)?\s*(?P<day>{'|'.join(_WEEKDAYS)})\b(?P<week>\s+(?:next|this|last)\s+week)?",
    re.IGNORECASE,
)


def _weekday(text: str, today: dt.date) -> dt.date | None:
    """ "this Thursday" is the one of this week, "Thursday next week" the one of next week, "last
    Friday" the latest Friday before today; a bare or "next" "Monday" the coming one (people
    differ on "next Thursday"; the summary shows the date, and a person who meant the other one
    says so)."""
    match = _WEEKDAY_PHRASE.search(text)
    if not match or _RANGE.search(text):
        return None
    which = (match.group("which") or "").lower()
    week = (match.group("week") or "").strip().lower()
    index = _WEEKDAYS.index(match.group("day").lower())
    if which in ("last", "past") or week.startswith("last"):
        return today - dt.timedelta(days=(today.weekday() - index) % 7 or 7)
    if week.startswith("next"):
        return today + dt.timedelta(days=7 - today.weekday() + index)
    if which == "this" or week.startswith("this"):
        return today + dt.timedelta(days=index - today.weekday())
    return today + dt.timedelta(days=(index - today.weekday()) % 7 or 7)


def pattern(text: str, regex: str) -> str | None:
    """The first substring matching ``regex`` (anchors are ignored when searching)."""
    body = regex.removeprefix("^").removesuffix("$")
    match = re.search(body, text)
    return match.group(0) if match else None


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _label_score(query: str, label: str, **_: Any) -> float:
    """How well ``query`` names ``label``: as a substring, or with all its words present in any order."""
    return max(
        fuzz.partial_ratio(query, label, processor=default_process),
        fuzz.token_set_ratio(query, label, processor=default_process),
    )


def choices(text: str, options: tuple[Option, ...], *, multiple: bool = False) -> list[Any]:
    """Option values that ``text`` refers to: by value, by ordinal ("the second one"), or fuzzily
    by label ("the blue one", "the keyboard")."""
    if not options:
        return []
    lowered = text.lower()
    # Exact ids anywhere in the text (W2611340 matches #W2611340).
    words = {_alnum(w) for w in re.split(r"[\s,;]+", lowered) if w}
    by_value = [o.value for o in options if _alnum(o.value) and _alnum(o.value) in words]
    if by_value:
        return by_value if multiple else by_value[:1]
    if multiple and _ALL.search(lowered):
        return [o.value for o in options]
    for word, index in sorted(_ORDINALS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", lowered) and -len(options) <= index < len(options):
            return [options[index].value]
    numbered = re.fullmatch(r"\s*(?:number|option|#)?\s*(\d{1,2})\s*\.?\s*", lowered)
    if numbered and 1 <= int(numbered.group(1)) <= len(options):
        return [options[int(numbered.group(1)) - 1].value]
    parts = [p for p in re.split(r",|\band\b|\bplus\b|&", lowered) if p.strip()] if multiple else [lowered]
    found: list[Any] = []
    labels = [o.label.lower() for o in options]
    for part in parts:
        part = _FILLER.sub(" ", part)
        if not part.strip():
            continue
        ranked = process.extract(part.strip(), labels, scorer=_label_score, limit=3)
        if not ranked or ranked[0][1] < 75:
            continue
        best = ranked[0]
        # Ambiguous when another label scores the same: the person has to say more.
        if (
            len(ranked) > 1
            and ranked[1][1] == best[1]
            and fuzz.WRatio(part, labels[best[2]]) == fuzz.WRatio(part, labels[ranked[1][2]])
        ):
            continue
        value = options[best[2]].value
        if value not in found:
            found.append(value)
    return found if multiple else found[:1]


_NOT_NAME_WORDS = (
    "a an the here back looking trying writing calling not so very sure just also glad happy sorry fine "
    "in on at my your our his her their for to of it its is was are be no yes about from with into "
    "going having getting still really quite that this there what which"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
# Two words before a zip code that are no name ("hi there, zip 12345", "my address in 12345").
_NOT_BARE_WORDS = (
    "hi hello hey there thanks thank you my the an a is it this that order ship to live code zip at in"
)
_NOT_BARE = _NOT_NAMES | frozenset(_NOT_BARE_WORDS.split())
_INTRO = re.compile(
    r"(?:my name is|my name's|i am|i'm|im|this is|it's|name:?)\s+([A-Za-z][A-Za-z'-]+)\s+([A-Za-z][A-Za-z'-]+)",
    re.IGNORECASE,
)
# A bare "Ann Lee, zip 12345" or "Ann Lee from 12345": two capitalised words before a zip code.
_BARE = re.compile(
    r"(?:^|[.!?]\s+|,\s*)([A-Za-z][a-z'-]+)\s+([A-Za-z][A-Za-z'-]+)\s*(?:,|\bfrom\b|\bzip\b|\bin\b)[^.]*?\b\d{5}\b"
)


def name(text: str) -> tuple[str, str] | None:
    """First and last name from "my name is Ann Lee", "I'm Ann Lee", "This is Ann Lee from 12345"
    or "Ann Lee, zip code 12345"."""
    for match in _INTRO.finditer(text):
        first, last = match.group(1), match.group(2)
        if first.lower() in _NOT_NAMES or last.lower() in _NOT_NAMES | {"and", "zip"}:
            continue
        return first.capitalize(), last.capitalize()
    bare = _BARE.search(text)
    if bare and not {bare.group(1).lower(), bare.group(2).lower()} & _NOT_BARE:
        return bare.group(1).capitalize(), bare.group(2).capitalize()
    return None


def value_for(
    slot: SlotDef, text: str, options: tuple[Option, ...], *, now: dt.datetime, timezone: str
) -> Any:
    """Best-effort value of ``slot``'s type found in ``text``, or None."""
    kind = slot.type
    if kind == "email":
        return email(text)
    if kind == "phone":
        return phone(text)
    if kind == "money":
        return money(text, slot.currency)
    if kind in ("integer", "number"):
        found = number(text)
        if found is None:
            return None
        return int(found) if kind == "integer" and found == int(found) else found
    if kind in ("date", "datetime"):
        return date(text, now=now, timezone=timezone, with_time=kind == "datetime", direction=slot.direction)
    if kind == "boolean":
        return yes_no(text)
    if kind == "choice":
        found_values = choices(text, options, multiple=slot.multiple)
        if not found_values:
            return None
        return found_values if slot.multiple else found_values[0]
    if kind == "text" and slot.pattern:
        return pattern(text, slot.pattern)
    return None
