"""Training examples for the LLM command generator, from recorded turns; and how right a model is.

A recorded turn (a dataset item) holds what the generator would have read: the message, the
conversation so far and the dialogue's context (``turns.context``). Its answer is the commands a
reviewer settled, or else the commands that ran, when they passed the verifier: the turn was not
flagged (no fall-back, clarification, refusal, tool error, handoff, thumbs down) and the person's
next message did not correct or refuse what it did. Examples from one conversation stay on one
side of a split.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from procpilot.domain.flows import Pack
from procpilot.llm import ChatRequest, ChatResponse
from procpilot.training.tuning import ChatExample
from procpilot.understanding.llm_commands import (
    TUNED,
    LLMCommandGenerator,
    commands_json,
    expectation_from_context,
    prompt_messages,
    prompt_text,
)

# Signals that say the commands that ran may not be what the person meant.
DOUBTFUL = {
    "thumbs_down",
    "clarification",
    "out_of_scope",
    "handoff",
    "rejected_answer",
    "tool_error",
    "model_fallback",
}
# Commands in the next turn that undo what this one did.
UNDOING = {"correct_slot", "deny", "cancel_flow"}


@dataclass(frozen=True)
class CommandCase:
    """A turn to learn from or test on: the generator's prompt and the right commands."""

    prompt: str
    context: dict[str, Any]
    commands: tuple[dict[str, Any], ...]
    group: str
    turn_id: int = 0
    reviewed: bool = False

    @property
    def answer(self) -> str:
        return commands_json(self.commands)

    def example(self, prompt_format: str = TUNED) -> ChatExample:
        messages = tuple((m.role, m.content) for m in prompt_messages(self.prompt, prompt_format))
        return ChatExample(messages=messages, answer=self.answer, group=self.group)


def _history(item: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(m["role"]), str(m["content"])) for m in item.get("history") or []]


def cases_from_items(
    pack: Pack, items: Iterable[dict[str, Any]], prompt_format: str = TUNED
) -> tuple[list[CommandCase], dict[str, int]]:
    """The usable turns of ``pack`` among dataset items, and how many were left out and why."""
    mine = [i for i in items if i.get("pack") == pack.id]
    by_conversation: dict[str, list[dict[str, Any]]] = {}
    for item in mine:
        by_conversation.setdefault(str(item["conversation_id"]), []).append(item)
    cases: list[CommandCase] = []
    left_out = {"no context": 0, "rejected": 0, "doubtful": 0, "undone next": 0, "no commands": 0}
    for conversation, turns in by_conversation.items():
        turns.sort(key=lambda i: int(i["turn_id"]))
        for index, item in enumerate(turns):
            review = item.get("review") or {}
            if review.get("rejected"):
                left_out["rejected"] += 1
                continue
            context = item.get("context")
            if not isinstance(context, dict):
                left_out["no context"] += 1
                continue
            settled = review.get("commands")
            commands = settled or item.get("commands") or []
            if not commands:
                left_out["no commands"] += 1
                continue
            if not settled:
                if DOUBTFUL & set(item.get("signals") or ()):
                    left_out["doubtful"] += 1
                    continue
                following = turns[index + 1] if index + 1 < len(turns) else None
                if following and UNDOING & {c.get("command") for c in following.get("commands") or []}:
                    left_out["undone next"] += 1
                    continue
            prompt = prompt_text(pack, str(item["text"]), context, _history(item), prompt_format)
            cases.append(
                CommandCase(
                    prompt=prompt,
                    context=context,
                    commands=tuple(commands),
                    group=conversation,
                    turn_id=int(item["turn_id"]),
                    reviewed=bool(settled),
                )
            )
    return cases, left_out


def split(
    cases: Sequence[CommandCase], held_out: float, seed: int = 0
) -> tuple[list[CommandCase], list[CommandCase]]:
    """(training, held out), by conversation: a stable hash decides each conversation's side."""
    train: list[CommandCase] = []
    test: list[CommandCase] = []
    for case in cases:
        digest = hashlib.sha256(f"{seed}/{case.group}".encode()).digest()
        (test if digest[0] / 256 < held_out else train).append(case)
    return train, test


@dataclass
class Exactness:
    cases: int = 0
    exact: int = 0
    usable: int = 0  # the answer parsed and fitted the flows (else the rules would answer)
    seconds: float = 0.0
    misses: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        n = max(1, self.cases)
        return {
            "cases": self.cases,
            "commands_exact": round(self.exact / n, 4),
            "commands_usable": round(self.usable / n, 4),
            "seconds_per_turn": round(self.seconds / n, 3),
        }


def canonical(commands: Sequence[Any]) -> str:
    """Commands compared as the model can write them (fields the schema has, values as text)."""
    return commands_json([c if isinstance(c, dict) else c.as_dict() for c in commands])


def exactness(
    pack: Pack,
    cases: Sequence[CommandCase],
    ask: Callable[[ChatRequest], ChatResponse],
    prompt_format: str = TUNED,
    progress: Callable[[int, int], None] | None = None,
) -> Exactness:
    """The share of ``cases`` whose commands the model gets exactly right."""
    generator = LLMCommandGenerator(pack, ask, prompt_format=prompt_format)
    result = Exactness(misses=[])
    started = time.perf_counter()
    for number, case in enumerate(cases, start=1):
        got = generator.answer(case.prompt, expectation_from_context(pack, case.context))
        result.cases += 1
        if got is not None:
            result.usable += 1
            if canonical(got) == canonical(case.commands):
                result.exact += 1
            elif result.misses is not None and len(result.misses) < 20:
                result.misses.append({"want": case.answer, "got": canonical(got), "turn": case.turn_id})
        if progress:
            progress(number, len(cases))
    result.seconds = time.perf_counter() - started
    return result
