"""Fact preservation, structured-output parsing, and the scripted fake."""

from __future__ import annotations

import pytest

from procpilot.llm import ChatRequest, ModelError, ModelOutputInvalid
from procpilot.llm.facts import facts, keeps_facts
from procpilot.llm.providers.scripted import ScriptedModel
from procpilot.llm.schema import parse


def test_facts_are_amounts_ids_dates_and_emails() -> None:
    text = "Order #W2611340 of $1,250.50 ships on 2026-12-01 to ann@example.com, zip 78701."
    assert facts(text) == {"#W2611340", "$1,250.50", "2026-12-01", "ann@example.com", "78701"}


@pytest.mark.parametrize(
    ("candidate", "kept"),
    [
        ("Great news: the $20.00 refund for #W1 is on its way.", True),
        ("The refund of $25.00 for #W1 is on its way.", False),  # changed amount
        ("Your refund is on its way.", False),  # dropped facts
        ("The $20.00 refund for #W1 arrives in 5 days.", False),  # invented a number
    ],
)
def test_keeps_facts(candidate: str, kept: bool) -> None:
    assert keeps_facts("Your refund of $20.00 for #W1 is on its way.", candidate) is kept


def test_parse_checks_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert parse("m", '```json\n{"n": 3}\n```', schema) == {"n": 3}
    with pytest.raises(ModelOutputInvalid, match="at n"):
        parse("m", '{"n": "three"}', schema)


def test_the_scripted_model_replays_and_records() -> None:
    model = ScriptedModel(["one", {"n": 1}, ModelError("scripted", "down")])
    assert model.chat(ChatRequest.of(("user", "a"))).text == "one"
    assert model.chat(ChatRequest.of(("user", "b"), json_schema={"type": "object"})).data == {"n": 1}
    with pytest.raises(ModelError, match="down"):
        model.chat(ChatRequest.of(("user", "c")))
    assert [r.messages[0].content for r in model.requests] == ["a", "b", "c"]
    echo = ScriptedModel(lambda request: request.messages[-1].content.upper())
    assert "".join(c.text for c in echo.stream(ChatRequest.of(("user", "hi there")))) == "HI THERE"
