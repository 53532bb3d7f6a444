"""Slot extractors built on dateparser, rapidfuzz and phonenumbers."""

from __future__ import annotations

import datetime as dt

import pytest

from procpilot.domain.slots import Option
from procpilot.understanding import extractors

NOW = dt.datetime(2026, 11, 23, 10, 0)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("next Friday", "2026-11-27"),
        ("in two days", "2026-11-25"),
        ("tomorrow please", "2026-11-24"),
        ("on 3 December", "2026-12-03"),
        ("I need three days off from next friday", "2026-11-27"),
    ],
)
def test_dates_relative_to_now(text: str, expected: str) -> None:
    assert extractors.date(text, now=NOW) == expected


def test_no_date_is_none() -> None:
    assert extractors.date("the blue one", now=NOW) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yeah, go ahead", True),
        ("sure!", True),
        ("no thanks", False),
        ("nope", False),
        ("maybe", None),
    ],
)
def test_yes_and_no(text: str, expected: bool | None) -> None:
    assert extractors.yes_no(text) is expected


def test_money_numbers_email_phone() -> None:
    assert extractors.money("about $1,250.50 total") == {"amount": "1250.50", "currency": "USD"}
    assert extractors.money("20 euros") == {"amount": "20", "currency": "EUR"}
    assert extractors.number("three days") == 3
    assert extractors.number("I want 12") == 12
    assert extractors.email("write to Ann.Lee@Example.org today") == "ann.lee@example.org"
    assert extractors.phone("call me at (415) 555-0100") == "+14155550100"


ITEMS = (
    Option("111", "Mechanical Keyboard (black, tactile), $120.00"),
    Option("222", "Gaming Mouse (white, wireless), $80.00"),
    Option("333", "Water Bottle (blue, 1000ml), $20.00"),
)


@pytest.mark.parametrize(
    ("text", "multiple", "expected"),
    [
        ("the keyboard", False, ["111"]),
        ("the second one", False, ["222"]),
        ("the last one", False, ["333"]),
        ("2", False, ["222"]),
        ("the blue bottle", False, ["333"]),
        ("the mouse and the keyboard", True, ["222", "111"]),
        ("all of them", True, ["111", "222", "333"]),
        ("item 333", False, ["333"]),
        ("a sofa", False, []),
    ],
)
def test_choices_by_id_ordinal_and_fuzzy_label(text: str, multiple: bool, expected: list[str]) -> None:
    assert extractors.choices(text, ITEMS, multiple=multiple) == expected


def test_order_ids_match_without_the_hash() -> None:
    orders = (Option("#W2611340", "#W2611340 (delivered)"), Option("#W1111111", "#W1111111 (pending)"))
    assert extractors.choices("it's W2611340", orders) == ["#W2611340"]


def test_names() -> None:
    assert extractors.name("Hi, I'm ann lee") == ("Ann", "Lee")
    assert extractors.name("hello there") is None
