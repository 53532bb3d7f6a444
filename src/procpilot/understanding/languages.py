"""Which language a message is in, as far as understanding needs to know: the pack's, or another.

A message in another script (Chinese, Japanese, Korean, Cyrillic, Arabic, Greek) or one made of
the everyday function words of French, German, Spanish, Italian, Portuguese or Dutch, with no
English ones, is in another language. Short messages (ids, names, "ok") are never judged.
"""

from __future__ import annotations

import re

_SCRIPTS = {
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "ja": re.compile(r"[\u3040-\u30ff]"),
    "ko": re.compile(r"[\uac00-\ud7af]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "el": re.compile(r"[\u0370-\u03ff]"),
}
_WORDS = (
    ("en", "the and to of is are i my you your it for with this that want would please can have not me"),
    ("fr", "je le la les des une un est et pour mon ma mes vous avec pas que qui dans voudrais bonjour"),
    ("de", "ich der die das und ist nicht mein meine sie mit für ein eine bitte möchte hallo zu"),
    ("es", "el la los las y es por para mi mis usted con una un quiero hola que del gracias"),
    ("it", "il lo la gli le e è per mio mia con una un voglio ciao che della grazie vorrei"),
    ("pt", "o a os as e é para meu minha com uma um quero olá que do obrigado não"),
    ("nl", "de het en is een ik mijn met voor niet wil graag hallo van dat"),
)
_FUNCTION_WORDS = {code: frozenset(words.split()) for code, words in _WORDS}
NAMES = {
    "en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "ar": "Arabic",
    "el": "Greek", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch",
}  # fmt: skip


def language(text: str) -> str | None:
    """The language code of ``text``, or None when it is too short or unclear to tell."""
    for code, script in _SCRIPTS.items():
        if len(script.findall(text)) >= 2:
            return code
    words = re.findall(r"[a-zà-ÿß]+", text.lower())
    if len(words) < 4:
        return None
    counts = {code: sum(w in vocabulary for w in words) for code, vocabulary in _FUNCTION_WORDS.items()}
    best = max(counts, key=lambda code: counts[code])
    if counts[best] >= 2 and counts[best] > 2 * counts["en"]:
        return best
    return "en" if counts["en"] else None
