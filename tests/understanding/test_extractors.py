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


def test_date_ranges_and_weekdays() -> None:
    now = dt.datetime(2026, 12, 1, 12)  # a Tuesday
    assert extractors.date_range("Monday to Wednesday next week", now=now) == (
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 9),
    )
    assert extractors.date_range("from 3 March to 7 March", now=now) == (
        dt.date(2027, 3, 3),
        dt.date(2027, 3, 7),
    )
    assert extractors.date("this Thursday", now=now) == "2026-12-03"
    assert extractors.date("Thursday next week", now=now) == "2026-12-10"
    assert extractors.date("last Friday", now=now) == "2026-11-27"


def test_dates_with_a_direction_and_amounts_that_are_no_dates() -> None:
    now = dt.datetime(2026, 12, 1, 12)
    assert extractors.date("28 November", now=now, direction="past") == "2026-11-28"
    assert extractors.date("28 November", now=now) == "2027-11-28"
    assert extractors.date("I paid $42.50 for lunch yesterday", now=now, direction="past") == "2026-11-30"
    assert extractors.date("3 days of leave from 14 December", now=now) == "2026-12-14"


@pytest.mark.parametrize(
    "text",
    [
        "Hello! This is Liam Thomas from zip 85049.",
        "Liam Thomas, zip code 85049.",
        "Hi, I'm Liam Thomas, zip code 85049. Please cancel my order",
        "my name is liam thomas and my zip is 85049",
    ],
)
def test_names_as_people_give_them(text: str) -> None:
    assert extractors.name(text) == ("Liam", "Thomas")


def test_yes_and_no_after_an_interjection() -> None:
    assert extractors.yes_no("sorry, no other item, that's all") is False
    assert extractors.yes_no("well, yes") is True


def test_words_that_are_no_names_are_not_taken_for_one() -> None:
    assert extractors.name("It's in my pending order #W4776164, not shipped yet") is None
    assert extractors.name("I'm not sure, I'm happy with it") is None
