"""The JSON Schema of flow files and ``pack.yaml``: the contract pack authors write against.

``procpilot schema`` prints it; ``schemas/`` in the repository holds the published copy, which a
test keeps equal to what this module builds.
"""

from __future__ import annotations

from typing import Any

from procpilot.domain.slots import SLOT_TYPES

_ID = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
_TEXT = {"type": "string"}
_STEP_ID = {"type": "string", "minLength": 1}
# A pack's id names its collection, URLs and folders, never a variable: hyphens are fine.
_PACK_ID = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$", "maxLength": 64}

_OPTION = {
    "oneOf": [
        {"type": ["string", "number", "boolean"]},
        {
            "type": "object",
            "required": ["value"],
            "properties": {"value": {}, "label": _TEXT, "synonyms": {"type": "array", "items": _TEXT}},
            "additionalProperties": False,
        },
    ]
}

_SLOT = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": list(SLOT_TYPES)},
        "description": _TEXT,
        "options": {"type": "array", "items": _OPTION},
        "options_from": _TEXT,
        "option_value": _TEXT,
        "option_label": _TEXT,
        "multiple": {"type": "boolean"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "pattern": _TEXT,
        "initial": {},
        "ties": {"enum": ["ask", "first"]},
        "direction": {"enum": ["past", "future", "any"]},
        "newest": {"enum": ["first", "last"]},
    },
    "additionalProperties": False,
}

_COMMON = {"id": _STEP_ID, "next": _STEP_ID}


def _step(key: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: value, **_COMMON, **extra},
        "additionalProperties": False,
    }


_STEPS = {
    "collect": _step(
        "collect",
        _ID,
        prompt=_TEXT,
        validate={
            "type": "array",
            "items": {
                "type": "object",
                "required": ["check", "message"],
                "properties": {"check": _TEXT, "message": _TEXT},
                "additionalProperties": False,
            },
        },
        ask_before_filling={"type": "boolean"},
        skip_if=_TEXT,
        max_attempts={"type": "integer", "minimum": 1},
        buttons={"type": "boolean"},
    ),
    "call": _step(
        "call",
        _ID,
        args={"type": "object"},
        result=_ID,
        outputs={"type": "object", "additionalProperties": _TEXT},
        on_error=_STEP_ID,
        retries={"type": "integer", "minimum": 0, "maximum": 10},
        retry_delay=_TEXT,
    ),
    "set": _step("set", {"type": "object", "minProperties": 1}),
    "branch": _step(
        "branch",
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["if", "then"],
                        "properties": {"if": _TEXT, "then": _STEP_ID},
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "required": ["else"],
                        "properties": {"else": _STEP_ID},
                        "additionalProperties": False,
                    },
                ]
            },
        },
    ),
    "confirm": _step("confirm", _TEXT, on_no=_STEP_ID),
    "approval": _step(
        "approval",
        {
            "type": "object",
            "properties": {"role": _TEXT, "assignee": _TEXT, "summary": _TEXT, "timeout": _TEXT},
            "additionalProperties": False,
        },
        on_rejected=_STEP_ID,
        on_timeout=_STEP_ID,
        on_changes=_STEP_ID,
        result=_ID,
    ),
    "generate": _step(
        "generate",
        _TEXT,
        instructions=_TEXT,
        into=_ID,
        review={"type": "boolean"},
        send={"type": "boolean"},
    ),
    "respond": _step("respond", _TEXT, buttons={"type": "array", "items": _TEXT}, buttons_from=_TEXT),
    "wait": _step("wait", _TEXT),
    "call_flow": _step("call_flow", _ID),
    "handoff": _step(
        "handoff",
        {
            "oneOf": [
                _TEXT,
                {
                    "type": "object",
                    "properties": {"reason": _TEXT, "message": _TEXT},
                    "additionalProperties": False,
                },
            ]
        },
    ),
    "end": _step(
        "end",
        {
            "oneOf": [
                {"type": ["string", "boolean", "null"]},
                {
                    "type": "object",
                    "properties": {"message": _TEXT, "cancel": {"type": "boolean"}},
                    "additionalProperties": False,
                },
            ]
        },
    ),
}


def flow_schema() -> dict[str, Any]:
    """Schema of one flow file (``flows/*.yaml``): a single flow, or ``flows:`` with several."""
    flow = {
        "type": "object",
        "required": ["id", "steps"],
        "properties": {
            "id": _ID,
            "name": _TEXT,
            "description": _TEXT,
            "examples": {"type": "array", "items": _TEXT},
            "keywords": {"type": "array", "items": _TEXT},
            "allowed_roles": {"type": "array", "items": _TEXT},
            "slots": {"type": "object", "additionalProperties": _SLOT},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://procpilot.dev/schemas/flow.schema.json",
        "title": "procpilot flow file",
        "$defs": {
            "flow": flow,
            "step": {"oneOf": list(_STEPS.values())},
            **{f"step_{k}": v for k, v in _STEPS.items()},
        },
        "oneOf": [
            {"$ref": "#/$defs/flow"},
            {
                "type": "object",
                "required": ["flows"],
                "properties": {"flows": {"type": "array", "items": {"$ref": "#/$defs/flow"}}},
                "additionalProperties": False,
            },
        ],
    }


def pack_schema() -> dict[str, Any]:
    """Schema of ``pack.yaml``."""
    http_tool = {
        "type": "object",
        "required": ["method", "url"],
        "properties": {
            "description": _TEXT,
            "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
            "url": _TEXT,
            "writes": {"type": "boolean"},
            "headers": {"type": "object", "additionalProperties": _TEXT},
            "params": {"type": "object", "additionalProperties": {"type": "object"}},
            "query": {"type": "object", "additionalProperties": _TEXT},
            "body": {"type": "object"},
            "auth": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["bearer", "basic", "header"]},
                    "secret": _TEXT,
                    "header": _TEXT,
                    "username": _TEXT,
                },
                "required": ["type", "secret"],
                "additionalProperties": False,
            },
            "response": {"type": "object", "additionalProperties": _TEXT},
            "timeout": {"type": "number", "exclusiveMinimum": 0},
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://procpilot.dev/schemas/pack.schema.json",
        "title": "procpilot pack.yaml",
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": _PACK_ID,
            "name": _TEXT,
            "version": {"type": ["string", "integer"]},
            "description": _TEXT,
            "tools": {
                "type": "object",
                "properties": {
                    "python": {"type": "array", "items": _TEXT},
                    "http": {"type": "object", "additionalProperties": http_tool},
                },
                "additionalProperties": False,
            },
            "schedules": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["flow", "cron"],
                    "properties": {
                        "flow": _ID,
                        "cron": _TEXT,
                        "tenants": {"type": "array", "items": _TEXT},
                    },
                    "additionalProperties": False,
                },
            },
            "database": {
                "type": "object",
                "properties": {"seed": _TEXT},
                "additionalProperties": False,
            },
            "settings": {
                "type": "object",
                "properties": {
                    "max_attempts": {"type": "integer", "minimum": 1},
                    "failures_before_handoff": {"type": "integer", "minimum": 1},
                    "timezone": _TEXT,
                    "language": _TEXT,
                    "tool_timeout": {"type": "number", "exclusiveMinimum": 0},
                },
                "additionalProperties": False,
            },
            "responses": {"type": "object", "additionalProperties": _TEXT},
            "models": {
                "type": "object",
                "propertyNames": {"enum": ["generate", "rephrase", "commands", "knowledge"]},
                "additionalProperties": {
                    "type": "object",
                    "required": ["model"],
                    "properties": {
                        "model": _TEXT,
                        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
                        "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        "top_k": {"type": "integer", "minimum": 0},
                        "max_tokens": {"type": "integer", "minimum": 1, "maximum": 8192},
                        "prompt_format": {"enum": ["instructed", "tuned"]},
                    },
                    "additionalProperties": False,
                },
            },
            "secrets": {"type": "array", "items": _TEXT},
        },
        "additionalProperties": False,
    }
