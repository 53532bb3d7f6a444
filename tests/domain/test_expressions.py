"""The branch/validation expression language: parsing, evaluation, safety."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from procpilot.domain import expressions
from procpilot.domain.errors import ExpressionError

ENV = {
    "slots": {
        "amount": {"amount": "250.00", "currency": "USD"},
        "days": 3,
        "items": ["a", "b"],
        "name": "Ann",
        "orders": [{"k": 1}, {"k": 2, "v": "second"}],
    },
    "conversation": {"user_id": "u1"},
    "context": {},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 / 4", 2.5),
        ("slots.days >= 3 and slots.days < 5", True),
        ("slots.amount.amount > 200", True),
        ("number(slots.amount.amount) + 0.5", 250.5),
        ("'a' in slots.items", True),
        ("'z' not in slots.items", True),
        ("not conversation.user_id", False),
        ("not slots.missing", True),
        ("slots.missing.deeper", None),
        ("len(slots.items) == 2", True),
        ("lower(slots.name) == 'ann'", True),
        ("slots.items[1]", "b"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("slots.days == 3 or 1 / 0", True),
        ("-slots.days", -3),
        ("concat('x', slots.days)", "x3"),
        ("find(slots.orders, 'k', 2).v", "second"),
        ("find(slots.orders, 'k', 9)", None),
        ("days_between('2026-01-01', '2026-01-31')", 30),
    ],
)
def test_evaluates(source: str, expected: object) -> None:
    assert expressions.evaluate(source, ENV) == expected


@pytest.mark.parametrize(
    "source",
    [
        "",
        "1 +",
        "slots.",
        "__import__('os')",
        "open('x')",
        "a = 1",
        "1 ; 2",
        "slots.amount.__class__ @ 2",
        "(1",
    ],
)
def test_rejects_bad_or_unsafe_text(source: str) -> None:
    with pytest.raises(ExpressionError):
        expressions.evaluate(source, ENV)


def test_names_lists_the_paths_used() -> None:
    assert expressions.names("slots.a > 1 and not conversation.user_id or len(slots.b)") == {
        "slots.a",
        "conversation.user_id",
        "slots.b",
    }


def test_comparing_incompatible_values_is_a_clear_error() -> None:
    with pytest.raises(ExpressionError, match="cannot apply"):
        expressions.evaluate("'a' < 1", ENV)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(1, 50))
def test_integer_arithmetic_matches_python(a: int, b: int, c: int) -> None:
    assert expressions.evaluate(
        f"{a} + {b} * {c} - ({a} % {c})".replace("+ -", "- ").replace("- -", "+ "), {}
    ) == (a + b * c - (a % c))


def test_put_replaces_an_entry_by_position_and_compact_drops_nulls() -> None:
    env = {"slots": {"xs": ["a"], "i": 2}}
    assert expressions.evaluate("put(slots.xs, 0, 'b')", env) == ["b"]
    assert expressions.evaluate("put(slots.xs, slots.i, 'c')", env) == ["a", None, "c"]
    assert expressions.evaluate("compact(put(slots.xs, slots.i, 'c'))", env) == ["a", "c"]
