"""Rule-based understanding: the commands a message becomes, given what the dialogue expects."""

from __future__ import annotations

from typing import Any

import pytest

from procpilot.domain.commands import (
    AskKnowledge,
    CancelFlow,
    CannotHandle,
    Chitchat,
    Confirm,
    CorrectSlot,
    Deny,
    HumanHandoff,
    SetSlot,
    StartFlow,
)
from procpilot.domain.state import DialogueState
from procpilot.engine import DialogueEngine
from procpilot.understanding import RuleUnderstanding


@pytest.fixture(scope="module")
def parts(mini_loaded: Any) -> tuple[DialogueEngine, RuleUnderstanding]:
    return DialogueEngine(mini_loaded.pack), RuleUnderstanding(mini_loaded.pack)


def state_for(engine: DialogueEngine, *commands: Any) -> DialogueState:
    return engine.handle(DialogueState(), list(commands)).state


def test_examples_start_flows(parts: Any) -> None:
    engine, nlu = parts
    nothing = engine.expectation(DialogueState())
    assert nlu.understand("I want to send money to a friend", nothing) == [StartFlow("transfer_money")]
    assert nlu.understand("what's my balance?", nothing) == [StartFlow("check_balance")]


def test_an_answer_fills_the_slot_being_asked(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(engine, StartFlow("transfer_money"), SetSlot("recipient", "Bob"))
    assert nlu.understand("50 dollars", engine.expectation(state)) == [
        SetSlot("amount", {"amount": "50", "currency": "USD"})
    ]


def test_an_unusable_answer_is_passed_on_for_the_engine_to_explain(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(engine, StartFlow("transfer_money"), SetSlot("recipient", "Bob"))
    assert nlu.understand("a lot", engine.expectation(state)) == [SetSlot("amount", "a lot")]


def test_confirmations_and_corrections(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(
        engine,
        StartFlow("transfer_money"),
        SetSlot("recipient", "Bob"),
        SetSlot("amount", "5"),
        SetSlot("day", "2026-12-01"),
    )
    expecting = engine.expectation(state)
    assert nlu.understand("yes please", expecting) == [Confirm()]
    assert nlu.understand("no", expecting) == [Deny()]
    assert nlu.understand("no, make it 7 dollars", expecting) == [
        CorrectSlot("amount", {"amount": "7", "currency": "USD"})
    ]


def test_naming_a_value_at_a_confirmation_asks_for_it_again(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(
        engine,
        StartFlow("transfer_money"),
        SetSlot("recipient", "Bob"),
        SetSlot("amount", "5"),
        SetSlot("day", "2026-12-01"),
    )
    expecting = engine.expectation(state)
    assert nlu.understand("the amount is wrong", expecting) == [CorrectSlot("amount", None)]
    assert nlu.understand("no, change the recipient", expecting) == [CorrectSlot("recipient", None)]
    assert nlu.understand("the recipient should be Carol", expecting) == [CorrectSlot("recipient", "Carol")]
    assert nlu.understand("the amount should be 9 dollars", expecting) == [
        CorrectSlot("amount", {"amount": "9", "currency": "USD"})
    ]
    assert nlu.understand("yes, the amount is right", expecting) == [Confirm()]
    # A question about a value is a question, not a change.
    assert nlu.understand("what amount is the limit?", expecting) == [
        AskKnowledge("what amount is the limit?")
    ]
    # Asked again: the engine goes back to the step that asked for it, and the rest stays.
    turn = engine.handle(state, [CorrectSlot("amount", None)])
    assert "amount" not in turn.state.top.slots and turn.state.top.slots["recipient"] == "Bob"
    assert turn.state.top.status == "waiting_input"
    assert any(e.kind == "slot.reopened" for e in turn.events)


def test_cancel_handoff_questions_and_small_talk(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(engine, StartFlow("transfer_money"))
    expecting = engine.expectation(state)
    assert nlu.understand("never mind", expecting) == [CancelFlow()]
    assert nlu.understand("can I talk to a real person", expecting) == [HumanHandoff()]
    nothing = engine.expectation(DialogueState())
    assert nlu.understand("what are your opening hours?", nothing) == [
        AskKnowledge("what are your opening hours?")
    ]
    assert nlu.understand("thanks!", nothing) == [Chitchat("thanks")]
    assert nlu.understand("hello", nothing) == [Chitchat("greet")]
    assert nlu.understand("purple elephants dance", nothing) == [CannotHandle()]


def test_a_free_text_slot_takes_the_message(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(engine, StartFlow("transfer_money"))
    assert nlu.understand("Alice Smith", engine.expectation(state)) == [SetSlot("recipient", "Alice Smith")]


def test_a_digression_is_recognised_while_a_slot_is_asked(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(engine, StartFlow("transfer_money"), SetSlot("recipient", "Bob"))
    assert nlu.understand("how much money do I have", engine.expectation(state)) == [
        StartFlow("check_balance")
    ]


def test_several_slots_from_one_message(parts: Any) -> None:
    engine, nlu = parts
    nothing = engine.expectation(DialogueState())
    commands = nlu.understand("send money to a friend, $20, tomorrow", nothing)
    assert commands[0] == StartFlow("transfer_money")
    assert SetSlot("amount", {"amount": "20", "currency": "USD"}) in commands
    assert any(isinstance(c, SetSlot) and c.slot == "day" for c in commands)
    state = state_for(engine, StartFlow("transfer_money"), SetSlot("recipient", "Bob"))
    answer = nlu.understand("50 euros, next friday", engine.expectation(state))
    assert answer[0] == SetSlot("amount", {"amount": "50", "currency": "EUR"})
    assert [c.slot for c in answer if isinstance(c, SetSlot)] == ["amount", "day"]


def test_plain_numbers_are_not_taken_for_amounts_or_dates(parts: Any) -> None:
    engine, nlu = parts
    state = state_for(engine, StartFlow("transfer_money"))
    assert nlu.understand("the second one", engine.expectation(state)) == [
        SetSlot("recipient", "the second one")
    ]
