"""The LLM command generator: scripted-model logic, fallback on anything unusable, and once end to end."""

from __future__ import annotations

from typing import Any

import pytest

from procpilot.domain.commands import CannotHandle, SetSlot, StartFlow
from procpilot.domain.state import DialogueState
from procpilot.engine import DialogueEngine
from procpilot.llm import ModelError
from procpilot.llm.providers.embedded import EmbeddedModel
from procpilot.llm.providers.scripted import ScriptedModel
from procpilot.understanding import RuleUnderstanding
from procpilot.understanding.llm_commands import HybridUnderstanding, LLMCommandGenerator


@pytest.fixture(scope="module")
def engine(mini_loaded: Any) -> DialogueEngine:
    return DialogueEngine(mini_loaded.pack)


def hybrid(pack: Any, model: Any) -> HybridUnderstanding:
    return HybridUnderstanding(LLMCommandGenerator(pack, model.chat), RuleUnderstanding(pack))


def test_valid_model_output_becomes_commands(mini_loaded: Any, engine: DialogueEngine) -> None:
    model = ScriptedModel([{"commands": [{"command": "start_flow", "flow": "transfer_money"}]}])
    nlu = hybrid(mini_loaded.pack, model)
    assert nlu.understand("I'd like to wire some cash", engine.expectation(DialogueState())) == [
        StartFlow("transfer_money")
    ]
    prompt = model.requests[0].messages[1].content
    assert (
        "transfer_money: Send money to someone." in prompt
        and "Latest message: I'd like to wire some cash" in prompt
    )
    assert model.requests[0].json_schema is not None


def test_the_prompt_carries_the_active_flow_and_the_question(
    mini_loaded: Any, engine: DialogueEngine
) -> None:
    state = engine.handle(DialogueState(), [StartFlow("transfer_money"), SetSlot("recipient", "Bob")]).state
    model = ScriptedModel([{"commands": [{"command": "set_slot", "slot": "amount", "value": "40 USD"}]}])
    commands = hybrid(mini_loaded.pack, model).understand(
        "forty bucks", engine.expectation(state), [("user", "hi")]
    )
    assert commands == [SetSlot("amount", "40 USD")]
    prompt = model.requests[0].messages[1].content
    assert 'Filled slots: {"recipient": "Bob"}' in prompt and "asked for slot 'amount' (money)" in prompt
    assert "user: hi" in prompt


@pytest.mark.parametrize(
    "reply",
    [
        {"commands": [{"command": "start_flow", "flow": "launch_rockets"}]},
        {"commands": [{"command": "set_slot", "slot": "not_a_slot", "value": "x"}]},
        {"commands": [{"command": "start_flow"}]},
        {"commands": []},
        ModelError("scripted", "down"),
    ],
)
def test_unusable_output_falls_back_to_the_rules(
    mini_loaded: Any, engine: DialogueEngine, reply: Any
) -> None:
    model = ScriptedModel([reply, reply])
    commands = hybrid(mini_loaded.pack, model).understand(
        "what is my balance", engine.expectation(DialogueState())
    )
    assert commands == [StartFlow("check_balance")]


def test_end_to_end_with_the_embedded_model(mini_loaded: Any, engine: DialogueEngine) -> None:
    """The 135M model often writes unusable commands; what it writes must be valid, else the rules answer."""
    model = EmbeddedModel(parallel=1, context=2048)
    generator = LLMCommandGenerator(mini_loaded.pack, model.chat)
    expectation = engine.expectation(DialogueState())
    raw = generator.understand("I want to send money to my friend", expectation)
    if raw is not None:
        for command in raw:
            if isinstance(command, StartFlow):
                assert (
                    command.flow in mini_loaded.pack.flows
                    and not mini_loaded.pack.flows[command.flow].pattern
                )
    commands = HybridUnderstanding(generator, RuleUnderstanding(mini_loaded.pack)).understand(
        "I want to send money to my friend", expectation
    )
    if raw is None:
        assert commands == [StartFlow("transfer_money")]  # the rules answered
    assert model.server is not None  # the real model was loaded and asked
    assert commands and not any(isinstance(c, CannotHandle) for c in commands)


def test_the_request_is_system_prompt_user_prompt_and_schema(
    mini_loaded: Any, engine: DialogueEngine
) -> None:
    model = ScriptedModel([{"commands": [{"command": "confirm"}]}])
    LLMCommandGenerator(mini_loaded.pack, model.chat).understand("yes", engine.expectation(DialogueState()))
    [request] = model.requests
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.json_schema is not None and request.sampling.temperature == 0.0
