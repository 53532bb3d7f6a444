"""Checking structured output: parse JSON, validate it against the schema, ask once for a repair."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from procpilot.llm.errors import ModelOutputInvalid
from procpilot.llm.types import ChatRequest, Message


def parse(model: str, text: str, schema: dict[str, Any]) -> Any:
    """The JSON value in ``text`` if it fits ``schema``; ModelOutputInvalid otherwise."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as error:
        raise ModelOutputInvalid(model, f"output is not JSON ({error.msg} at {error.pos})", text) from None
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise ModelOutputInvalid(
            model, f"output does not fit the schema at {where}: {error.message}", text
        ) from None
    return data


def instructions(schema: dict[str, Any]) -> str:
    """A system message that asks for JSON of ``schema``, for servers that cannot constrain output."""
    return (
        "Answer with one JSON value only, no prose and no code fences. It must validate against this "
        f"JSON Schema:\n{json.dumps(schema)}"
    )


def repair_request(request: ChatRequest, bad_output: str, problem: str) -> ChatRequest:
    """The same request plus the bad answer and what was wrong with it."""
    return request.with_messages(
        Message("assistant", bad_output),
        Message("user", f"That answer was invalid: {problem}. Reply again with corrected JSON only."),
    )
