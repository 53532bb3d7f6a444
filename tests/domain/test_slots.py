"""Slot types and coercion to canonical values."""

from __future__ import annotations

import datetime as dt

import pytest

from procpilot.domain.errors import SlotValueError
from procpilot.domain.slots import Option, SlotDef, coerce


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("text", "  hi  ", "hi"),
        ("integer", "1,200", 1200),
        ("integer", 3.0, 3),
        ("number", "2.5", 2.5),
        ("money", "12.5", {"amount": "12.50", "currency": "USD"}),
        ("money", "EUR 7", {"amount": "7.00", "currency": "EUR"}),
        ("money", {"amount": "3", "currency": "gbp"}, {"amount": "3.00", "currency": "GBP"}),
        ("date", "2026-02-03", "2026-02-03"),
        ("date", dt.date(2026, 2, 3), "2026-02-03"),
        ("datetime", "2026-02-03T10:30:00", "2026-02-03T10:30:00"),
        ("boolean", "yes", True),
        ("boolean", False, False),
        ("email", "Ann@Example.com", "ann@example.com"),
        ("phone", "+1 (415) 555-0100", "+14155550100"),
    ],
)
def test_coerces(kind: str, raw: object, expected: object) -> None:
    assert coerce(SlotDef("s", kind), raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("integer", "2.5"),
        ("integer", "many"),
        ("money", "lots"),
        ("date", "someday"),
        ("boolean", "perhaps"),
        ("email", "ann at example"),
        ("phone", "12"),
        ("text", "   "),
    ],
)
def test_rejects_with_a_readable_reason(kind: str, raw: object) -> None:
    with pytest.raises(SlotValueError):
        coerce(SlotDef("s", kind), raw)


def test_choice_matches_value_label_or_id_without_punctuation() -> None:
    slot = SlotDef("order", "choice", options=(Option("#W1", "first order"), Option("#W2", "second order")))
    assert coerce(slot, "#W2") == "#W2"
    assert coerce(slot, "First Order") == "#W1"
    assert coerce(slot, "w2") == "#W2"
    with pytest.raises(SlotValueError, match="not one of the choices"):
        coerce(slot, "#W3")


def test_multiple_choice_keeps_order_and_drops_duplicates() -> None:
    slot = SlotDef("items", "choice", multiple=True, options=(Option("a", "A"), Option("b", "B")))
    assert coerce(slot, ["b", "a", "b"]) == ["b", "a"]


def test_text_pattern_is_enforced() -> None:
    slot = SlotDef("zip", "text", pattern=r"\d{5}")
    assert coerce(slot, "12345") == "12345"
    with pytest.raises(SlotValueError):
        coerce(slot, "1234")
