"""procpilot's own recognizers, as Presidio pattern recognizers (regular expressions, and a
checksum where the format has one).

Kinds (Presidio entity names): STREET_ADDRESS, POSTCODE, PHONE_NUMBER (Chinese mobiles),
NATIONAL_ID (Chinese resident ids, ISO 7064 MOD 11-2), CREDIT_CARD (Chinese UnionPay bank cards,
Luhn) and PERSON (names the conversation knows, and names people state: "my name is ...",
"我叫...").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import regex
from presidio_analyzer import Pattern, PatternRecognizer

_US_STREET = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|"
    r"Parkway|Pkwy|Circle|Cir|Highway|Hwy"
)
_UK_STREET = (
    r"Road|Street|Lane|Close|Gardens|Crescent|Terrace|Avenue|Way|Drive|Place|Square|Hill|Grove|Row|Mews|Walk"
)
_UNIT = r"(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat|#)\.?\s*[0-9A-Z]{1,5})?"
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
    "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_CJK = r"\u4e00-\u9fff"


class _Recognizer(PatternRecognizer):
    """A pattern recognizer whose patterns are case-sensitive (Presidio's default ignores case,
    and a capital letter is what tells "Baker Street" from "baker street")."""

    def __init__(self, entity: str, **kwargs: Any) -> None:
        super().__init__(supported_entity=entity, global_regex_flags=regex.DOTALL | regex.MULTILINE, **kwargs)


def street_addresses(language: str) -> PatternRecognizer:
    patterns = [
        # US and UK: "1600 Pennsylvania Avenue", "221B Baker Street", "12 Elm Close, Flat 3"
        Pattern(
            "number and street",
            rf"\b\d{{1,5}}[A-Z]?\s+(?:[A-Z][a-z]+\s+){{1,3}}(?:{_US_STREET}|{_UK_STREET})\b\.?{_UNIT}",
            0.6,
        ),
        # Germany: "Hauptstraße 5", "Berliner Allee 12a", "Am Markt 3"
        Pattern(
            "German street and number",
            r"\b(?:[A-ZÄÖÜ][a-zäöüß]+\s)?[A-ZÄÖÜ][a-zäöüß]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer)"
            r"\s\d{1,4}[a-z]?\b",
            0.6,
        ),
        Pattern(
            "German two-word street",
            r"\b[A-ZÄÖÜ][a-zäöüß]+\s(?:Straße|Strasse|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer)\s\d{1,4}[a-z]?\b",
            0.6,
        ),
        Pattern(
            "German Am/An street", r"\b(?:Am|An der|Auf dem|Im)\s[A-ZÄÖÜ][a-zäöüß]+\s\d{1,4}[a-z]?\b", 0.5
        ),
        # China: "北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号5楼"
        Pattern(
            "Chinese address",
            # The address does not begin with the words before it ("请送到", "住在", "地址改成").
            rf"(?![请送到寄在住是址改成为给往的：:])(?:[{_CJK}]{{2,7}}(?:省|自治区|市))?(?:[{_CJK}]{{1,7}}(?:市|区|县))?[{_CJK}]{{1,10}}(?:路|街|大道|道|巷|胡同)"
            rf"\d{{1,5}}号(?:[\d{_CJK}]{{0,8}}(?:室|楼|层|单元))?",
            0.7,
        ),
    ]
    return _Recognizer(
        "STREET_ADDRESS", patterns=patterns, supported_language=language, name="street_addresses"
    )


def postcodes(language: str) -> PatternRecognizer:
    patterns = [
        # US: a ZIP after a state ("Springfield, IL 62704") or the word ZIP.
        Pattern("US ZIP after a state", rf"(?<=\b(?:{_US_STATES}),?\s)\d{{5}}(?:-\d{{4}})?\b", 0.6),
        Pattern("US ZIP after the word", r"(?i)(?<=zip\s)(?:code\s)?\d{5}(?:-\d{4})?\b", 0.6),
        # UK: "SW1A 1AA", "M1 1AE", "EC1A 1BB"
        Pattern("UK postcode", r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b", 0.6),
        # Germany: five digits before a town ("10115 Berlin", "80331 München").
        Pattern("German postcode", r"\b\d{5}(?=\s[A-ZÄÖÜ][a-zäöüß]{2,})", 0.5),
        # China: six digits after 邮编 / 邮政编码.
        Pattern("Chinese postcode", r"(?<=邮编)[:：\s]*\d{6}(?!\d)|(?<=邮政编码)[:：\s]*\d{6}(?!\d)", 0.6),
    ]
    return _Recognizer("POSTCODE", patterns=patterns, supported_language=language, name="postcodes")


def chinese_mobiles(language: str) -> PatternRecognizer:
    pattern = Pattern("Chinese mobile", r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}(?!\d)", 0.7)
    return _Recognizer(
        "PHONE_NUMBER", patterns=[pattern], supported_language=language, name="chinese_mobiles"
    )


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(value: str) -> bool:
    """A Chinese resident id's last character is its ISO 7064 MOD 11-2 checksum."""
    value = value.upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def luhn_valid(digits: str) -> bool:
    digits = re.sub(r"\D", "", digits)
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return len(digits) >= 12 and total % 10 == 0


class _ResidentIds(_Recognizer):
    def validate_result(self, pattern_text: str) -> bool:
        return resident_id_valid(pattern_text)


class _BankCards(_Recognizer):
    def validate_result(self, pattern_text: str) -> bool:
        return luhn_valid(pattern_text)


def chinese_resident_ids(language: str) -> PatternRecognizer:
    pattern = Pattern("Chinese resident id", r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])", 0.5)
    return _ResidentIds("NATIONAL_ID", patterns=[pattern], supported_language=language, name="resident_ids")


def chinese_bank_cards(language: str) -> PatternRecognizer:
    pattern = Pattern("UnionPay card", r"(?<!\d)62\d{2}(?:[\s-]?\d{4}){3}(?:\d{1,3})?(?!\d)", 0.5)
    return _BankCards("CREDIT_CARD", patterns=[pattern], supported_language=language, name="bank_cards")


_NAME = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"


def stated_names(language: str) -> PatternRecognizer:
    """Names people give: "my name is Ana Lopez", "this is Tom", "我叫王小明", "我是李娜"."""
    patterns = [
        Pattern(
            "English name given",
            rf"(?<=\b(?:[Mm]y name is|[Mm]y name's|[Tt]his is|[Ii]t's|[Ii]ts|I am|I'm|[Cc]all me|[Ss]igned|[Rr]egards,)\s){_NAME}(?:\s{_NAME}){{0,2}}",
            0.55,
        ),
        Pattern("English name with a title", rf"(?<=\b(?:Mr|Mrs|Ms|Dr|Miss)\.?\s){_NAME}(?:\s{_NAME})?", 0.6),
        Pattern(
            "Chinese name given",
            rf"(?<=我叫|我是|名叫|姓名[:：]|联系人[:：])[{_CJK}]{{2,3}}(?=[，,。.！!\s]|$|的)",
            0.6,
        ),
    ]
    return _Recognizer("PERSON", patterns=patterns, supported_language=language, name="stated_names")


def known_names(names: Iterable[str], language: str) -> PatternRecognizer | None:
    """The names this conversation knows (the person's own, names given as slot values): each
    found wherever it is written, and each of its parts of three letters or more."""
    words: set[str] = set()
    for name in names:
        name = name.strip()
        if len(name) < 2:
            continue
        words.add(name)
        words.update(part for part in re.split(r"[\s.]+", name) if len(part) >= 3)
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = Pattern(
        "known name", rf"(?<![\w])(?i:{alternatives})(?![\w])", 0.8
    )  # people type names in lower case too
    return _Recognizer("PERSON", patterns=[pattern], supported_language=language, name="known_names")
