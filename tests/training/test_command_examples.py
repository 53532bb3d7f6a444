"""Examples for the command generator from recorded turns: the verifier, the split, the answer's
form, and the gate's arithmetic."""

from __future__ import annotations

import json
from typing import Any

from procpilot.llm import ChatRequest, ChatResponse
from procpilot.llm.providers.scripted import ScriptedModel
from procpilot.services.models.llm_training import gate
from procpilot.training.command_examples import canonical, cases_from_items, exactness, split
from procpilot.understanding.llm_commands import INSTRUCTED, TUNED, commands_json

ASKED = {"kind": "slot", "flow": "leave", "slot": "days", "slot_type": "integer",
         "flow_slots": ["days"], "filled": {}}  # fmt: skip
NOTHING = {"kind": "nothing", "flow": None}


def item(turn: int, text: str, commands: list[dict[str, Any]], context: dict[str, Any] | None = NOTHING,
         conversation: str = "c1", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"pack": "mini", "conversation_id": conversation, "turn_id": turn, "text": text,
            "commands": commands, "context": context, "history": [], "signals": [], **extra}  # fmt: skip


START = [{"command": "start_flow", "flow": "leave", "note": None}]
SET = [{"command": "set_slot", "slot": "days", "value": 3}]


def test_the_verifier_keeps_what_went_right_and_a_reviewer_settles_the_rest(mini_loaded: Any) -> None:
    pack = mini_loaded.pack
    items = [
        item(1, "I need some days off", START),
        item(2, "3", SET, ASKED),
        item(3, "blah", [{"command": "cannot_handle"}], signals=["out_of_scope"]),
        item(4, "no, 4", [{"command": "set_slot", "slot": "days", "value": 5}], ASKED, conversation="c2"),
        item(5, "I meant 4", [{"command": "correct_slot", "slot": "days", "value": 4}], ASKED, conversation="c2"),
        item(6, "old", START, context=None, conversation="c3"),
        item(7, "junk", START, conversation="c4", review={"rejected": True}),
        item(8, "four days", [{"command": "cannot_handle"}], ASKED, conversation="c5",
             signals=["rejected_answer"], review={"commands": [{"command": "set_slot", "slot": "days", "value": "4"}]}),
        {**item(9, "other pack", START), "pack": "retail"},
    ]  # fmt: skip
    cases, left_out = cases_from_items(pack, items, TUNED)
    assert [c.turn_id for c in cases] == [1, 2, 5, 8]
    assert left_out == {"no context": 1, "rejected": 1, "doubtful": 1, "undone next": 1, "no commands": 0}
    assert cases[3].reviewed and json.loads(cases[3].answer)["commands"][0]["value"] == "4"
    # The answer: the fields the schema has (no note), values as text, as the model must write.
    assert json.loads(cases[0].answer) == {"commands": [{"command": "start_flow", "flow": "leave"}]}
    assert json.loads(cases[1].answer) == {
        "commands": [{"command": "set_slot", "slot": "days", "value": "3"}]
    }
    assert "Asked: days (integer)" in cases[1].prompt
    instructed, _ = cases_from_items(pack, items, INSTRUCTED)
    assert "The assistant just asked for slot 'days'" in instructed[1].prompt
    assert len(instructed[1].prompt) > len(cases[1].prompt)
    example = cases[1].example(TUNED)
    assert example.messages[0][0] == "system" and example.answer == cases[1].answer


def test_a_split_keeps_each_conversation_on_one_side(mini_loaded: Any) -> None:
    items = [item(n, f"m{n}", START, conversation=f"c{n // 3}") for n in range(60)]
    cases, _ = cases_from_items(mini_loaded.pack, items)
    train, held = split(cases, 0.3)
    assert train and held and len(train) + len(held) == 60
    assert not {c.group for c in train} & {c.group for c in held}
    assert split(cases, 0.3) == (train, held)  # stable


def test_exactness_counts_right_usable_and_unusable_answers(mini_loaded: Any) -> None:
    pack = mini_loaded.pack
    cases, _ = cases_from_items(pack, [item(1, "I need some days off", START), item(2, "3", SET, ASKED),
                                       item(3, "4", SET, ASKED, conversation="c2")])  # fmt: skip
    answers = [
        commands_json(START),  # right
        json.dumps({"commands": [{"command": "set_slot", "slot": "days", "value": "2"}]}),  # usable, wrong
        json.dumps({"commands": [{"command": "set_slot", "slot": "nope", "value": "3"}]}),  # unusable
    ]
    model = ScriptedModel(answers)

    def ask(request: ChatRequest) -> ChatResponse:
        return model.chat(request)

    found = exactness(pack, cases, ask, TUNED)
    assert found.as_dict()["cases"] == 3
    assert (found.exact, found.usable) == (1, 2)
    assert canonical(START) == commands_json(START)


def test_the_gate_wants_every_figure_at_least_as_good() -> None:
    base = {"cases": 10, "commands_exact": 0.5, "commands_usable": 0.9, "tests_passed": 1.0}
    better = {**base, "commands_exact": 0.7}
    figures = {"candidate": better, "baseline": base, "baseline_version": None}
    assert gate(figures, None) == {"passed": True, "reason": "at least as good as the baseline on every figure",
                                   "moved": {"commands_exact": {"from": 0.5, "to": 0.7}}}  # fmt: skip
    worse = {**figures, "candidate": {**better, "tests_passed": 0.9}}
    assert not gate(worse, None)["passed"] and "tests_passed 1.0 -> 0.9" in gate(worse, None)["reason"]
    assert "train it again" in gate(figures, "v2")["reason"]  # evaluated against another baseline
    assert not gate({**figures, "candidate": {**better, "cases": 0}}, None)["passed"]
