"""Export formats of a dataset version: each a function from its (already redacted) items to
(text, rows), in the formats the field uses.

openai-sft    OpenAI chat fine-tuning JSONL: ``{"messages": [...], "tools": [...]}``, the
              assistant's tool calls and their results included, the reply as reviewers settled it
openai-dpo    OpenAI preference JSONL: the reviewer's edited reply preferred to the original
kto           ``{"prompt", "completion", "label"}`` rows from people's ratings (TRL's KTO format)
nlu           a pack's ``data/nlu.yaml``: the person's message under the flow it asks for
out-of-scope  messages reviewers labelled out of scope, one a line (``data/out_of_scope_train.txt``)
commands      command-generation examples: the conversation so far, the message, the right commands
tests         pack conversation tests (YAML), one per reviewed turn
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

from procpilot.domain.review import OUT_OF_SCOPE


def _jsonl(rows: list[dict[str, Any]]) -> tuple[str, int]:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), len(rows)


def _usable(item: dict[str, Any]) -> bool:
    return not (item.get("review") or {}).get("rejected")


def _reply(item: dict[str, Any]) -> str:
    return str((item.get("review") or {}).get("reply") or item["reply"])


def _prompt(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [*item["history"], {"role": "user", "content": item["text"]}]


def openai_sft(items: list[dict[str, Any]]) -> tuple[str, int]:
    rows = []
    for item in items:
        if not _usable(item) or not _reply(item):
            continue
        messages = _prompt(item)
        tools: dict[str, dict[str, Any]] = {}
        for n, call in enumerate(item["tools"]):
            name = str(call["name"])
            call_id = f"call_{item['turn_id']}_{n}"
            messages.append(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": json.dumps(call.get("arguments") or {})},
                        }
                    ],
                }
            )
            outcome = call.get("result") if "error" not in call else {"error": call["error"]}
            messages.append(
                {"role": "tool", "tool_call_id": call_id, "content": json.dumps(outcome, ensure_ascii=False)}
            )
            properties: dict[str, Any] = {arg: {} for arg in (call.get("arguments") or {})}
            tools[name] = {
                "type": "function",
                "function": {"name": name, "parameters": {"type": "object", "properties": properties}},
            }
        messages.append({"role": "assistant", "content": _reply(item)})
        row: dict[str, Any] = {"messages": messages}
        if tools:
            row["tools"] = list(tools.values())
        rows.append(row)
    return _jsonl(rows)


def openai_dpo(items: list[dict[str, Any]]) -> tuple[str, int]:
    rows = [
        {
            "input": {"messages": _prompt(item)},
            "preferred_output": [{"role": "assistant", "content": _reply(item)}],
            "non_preferred_output": [{"role": "assistant", "content": item["reply"]}],
        }
        for item in items
        if _usable(item) and (item.get("review") or {}).get("reply") and _reply(item) != item["reply"]
    ]
    return _jsonl(rows)


def kto(items: list[dict[str, Any]]) -> tuple[str, int]:
    rows = []
    for item in items:
        for rating in item["ratings"]:
            rows.append(
                {
                    "prompt": _prompt(item),
                    "completion": [{"role": "assistant", "content": item["reply"]}],
                    "label": rating["rating"] == "up",
                }
            )
    return _jsonl(rows)


def _intent(item: dict[str, Any]) -> str | None:
    review = item.get("review") or {}
    if review.get("intent"):
        return str(review["intent"])
    starts = [c.get("flow") for c in item["commands"] if c.get("command") == "start_flow"]
    return str(starts[0]) if item["reviewed"] and starts else None


def nlu(items: list[dict[str, Any]]) -> tuple[str, int]:
    by_flow: dict[str, list[str]] = {}
    for item in items:
        intent = _intent(item)
        if (
            _usable(item)
            and intent
            and intent != OUT_OF_SCOPE
            and item["text"] not in by_flow.get(intent, [])
        ):
            by_flow.setdefault(intent, []).append(item["text"])
    rows = sum(len(v) for v in by_flow.values())
    return yaml.safe_dump(by_flow, allow_unicode=True, sort_keys=True), rows


def out_of_scope(items: list[dict[str, Any]]) -> tuple[str, int]:
    lines = sorted({item["text"] for item in items if _intent(item) == OUT_OF_SCOPE})
    return "".join(line.replace("\n", " ") + "\n" for line in lines), len(lines)


def commands(items: list[dict[str, Any]]) -> tuple[str, int]:
    rows = [
        {
            "messages": item["history"],
            "text": item["text"],
            "commands": (item.get("review") or {}).get("commands") or item["commands"],
            "corrected": bool((item.get("review") or {}).get("commands")),
        }
        for item in items
        if _usable(item) and item["reviewed"]
    ]
    return _jsonl(rows)


def tests(items: list[dict[str, Any]]) -> tuple[str, int]:
    made = []
    for item in items:
        review = item.get("review")
        if not review or not _usable(item):
            continue
        steps: list[dict[str, Any]] = [{"user": m["content"]} for m in item["history"] if m["role"] == "user"]
        expect: dict[str, Any] = {}
        intent = _intent(item)
        if intent and intent != OUT_OF_SCOPE and not steps:
            expect["flow_started"] = intent
        if review.get("slots"):
            expect["slots"] = review["slots"]
        if review.get("reply"):
            expect["bot_contains"] = review["reply"]
        steps.append({"user": item["text"], **({"expect": expect} if expect else {})})
        made.append({"name": f"reviewed turn {item['turn_id']}", "steps": steps})
    return (yaml.safe_dump({"tests": made}, allow_unicode=True, sort_keys=False) if made else ""), len(made)


FORMATS: dict[str, Callable[[list[dict[str, Any]]], tuple[str, int]]] = {
    "openai-sft": openai_sft,
    "openai-dpo": openai_dpo,
    "kto": kto,
    "nlu": nlu,
    "out-of-scope": out_of_scope,
    "commands": commands,
    "tests": tests,
}
