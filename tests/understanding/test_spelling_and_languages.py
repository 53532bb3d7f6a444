"""Typos corrected against a pack's own words; messages in another language recognised."""

from __future__ import annotations

import pytest

from procpilot.understanding.languages import language
from procpilot.understanding.spelling import Speller

SPELLER = Speller.from_texts(["request leave", "claim an expense", "return delivered items", "exchange"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'd like to requst some leav next week", "I'd like to request some leave next week"),
        ("I want to retrun this", "I want to return this"),
        ("please echange it", "please exchange it"),
    ],
)
def test_one_or_two_letters_off_a_pack_word_are_corrected(text: str, expected: str) -> None:
    assert SPELLER.correct(text) == expected


def test_known_unknown_and_everyday_words_are_left_alone() -> None:
    assert SPELLER.correct("my zebra wanted coffee W1234567") == "my zebra wanted coffee W1234567"
    assert SPELLER.correct("leave") == "leave"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour, je voudrais prendre trois jours de congé", "fr"),
        ("Hallo, ich möchte bitte meine Bestellung stornieren", "de"),
        ("Hola, quiero devolver el teclado de mi pedido", "es"),
        ("我想退货 订单号是 W1234567", "zh"),
        ("I want to return the keyboard from my order", "en"),
        ("W1234567", None),
        ("ok", None),
    ],
)
def test_languages(text: str, expected: str | None) -> None:
    assert language(text) == expected
