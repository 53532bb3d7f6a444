"""Review: which turns people should look at, and when their answers settle a turn.

A turn carries *signals*, facts about how it went, found from its commands and events. A review
queue names the signals it takes (and a share of all turns, sampled); a turn goes into every
queue that takes one of its signals. A queue needs ``reviews_needed`` answers per item: when they
agree the item is done; when they disagree it waits for one more reviewer, whose answer settles
it with the majority.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from procpilot.domain.errors import UserError

SIGNALS = {
    "thumbs_down": "a person rated a reply down",
    "low_confidence": "the request was routed to its flow on a weak match",
    "clarification": "the assistant had to ask which one was meant",
    "out_of_scope": "the assistant could not handle the message",
    "handoff": "the conversation was handed to a person",
    "rejected_answer": "an answer to a question was refused (a value that did not fit)",
    "tool_error": "a tool call failed or timed out",
    "model_fallback": "the model's commands were not usable and the rules answered instead",
    "sample": "a random share of all turns",
}
VERDICTS = ("submit", "skip", "reject")
ANSWER_FIELDS = ("intent", "commands", "slots", "reply", "note")
OUT_OF_SCOPE = "out_of_scope"


def turn_signals(commands: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]],
                 *, handed_off: bool, model_fallback: bool, low_confidence: bool = False) -> list[str]:  # fmt: skip
    """The signals of one turn, from its commands (as dicts) and the events it produced."""
    names = {c.get("command") for c in commands}
    kinds = {e.get("kind") for e in events}
    found = []
    if low_confidence:
        found.append("low_confidence")
    if "clarify" in names or "slot.ambiguous" in kinds:
        found.append("clarification")
    if "cannot_handle" in names:
        found.append("out_of_scope")
    if "human_handoff" in names or handed_off:
        found.append("handoff")
    if "slot.rejected" in kinds:
        found.append("rejected_answer")
    if "tool.failed" in kinds:
        found.append("tool_error")
    if model_fallback:
        found.append("model_fallback")
    return found


def sampled(queue_id: str, turn_id: int, rate: float) -> bool:
    """Whether a turn falls in a queue's random sample: drawn from a hash, so the same turn is
    in or out of the sample whoever asks, and again after a restart."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{queue_id}:{turn_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def reasons_for(queue_signals: Iterable[str], sample_rate: float, queue_id: str, turn_id: int,
                signals: Iterable[str]) -> list[str]:  # fmt: skip
    wanted = set(queue_signals)
    reasons = sorted(wanted & set(signals))
    if ("sample" in wanted or sample_rate > 0) and sampled(queue_id, turn_id, sample_rate or 0.0):
        reasons.append("sample")
    return reasons


def check_signals(signals: Iterable[str]) -> list[str]:
    listed = list(dict.fromkeys(signals))
    unknown = [s for s in listed if s not in SIGNALS]
    if unknown:
        raise UserError(f"unknown signal(s) {', '.join(unknown)}; known: {', '.join(SIGNALS)}")
    return listed


def clean_answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A reviewer's answer with only the known fields; empty ones left out."""
    unknown = set(answer) - set(ANSWER_FIELDS)
    if unknown:
        raise UserError(
            f"unknown answer field(s) {', '.join(sorted(unknown))}; known: {', '.join(ANSWER_FIELDS)}"
        )
    out = {k: v for k, v in answer.items() if v not in (None, "", [], {})}
    if "slots" in out and not isinstance(out["slots"], dict):
        raise UserError("slots must be an object of slot names and values")
    if "commands" in out and not isinstance(out["commands"], list):
        raise UserError("commands must be a list")
    return out


def _key(answer: Mapping[str, Any]) -> str:
    import json

    comparable = {k: answer.get(k) for k in ("intent", "commands", "slots", "reply")}
    return json.dumps(comparable, sort_keys=True, ensure_ascii=False, default=str)


def settle(answers: Sequence[Mapping[str, Any]], needed: int) -> tuple[str, dict[str, Any] | None]:
    """("open" | "disputed" | "done", the settled answer). ``answers``: submitted ones, in order
    (a rejection is the answer ``{"rejected": True}``)."""
    if len(answers) < needed:
        return "open", None
    first = answers[:needed]
    if len({_key(a) for a in first}) == 1:
        return "done", dict(first[0])
    if len(answers) == needed:
        return "disputed", None
    # The tie-break: the answer most reviewers gave, the last reviewer's among equals.
    counts = Counter(_key(a) for a in answers)
    best = max(range(len(answers)), key=lambda i: (counts[_key(answers[i])], i))
    return "done", dict(answers[best])
