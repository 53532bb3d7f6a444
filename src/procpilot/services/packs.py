"""``PackService``: validating packs, publishing their schema, and starting new ones."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from procpilot.domain.errors import Problem, UserError
from procpilot.packs.schema import flow_schema, pack_schema
from procpilot.services.catalog import validate_folder


def validate(path: Path) -> list[Problem]:
    """Every problem of the pack in ``path``; empty when it is valid."""
    return validate_folder(path)


def schema(kind: str = "flow") -> dict[str, Any]:
    """The JSON Schema of a flow file (``flow``) or of ``pack.yaml`` (``pack``)."""
    if kind == "flow":
        return flow_schema()
    if kind == "pack":
        return pack_schema()
    raise UserError(f"schema kind must be 'flow' or 'pack', not {kind!r}")


def schema_json(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, sort_keys=True) + "\n"


def init_pack(target: Path, pack_id: str) -> list[Path]:
    """Create a new pack from the built-in template in ``target``; refuses to overwrite."""
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target} exists and is not empty")
    if not pack_id.isidentifier():
        raise UserError(f"pack id {pack_id!r} must be letters, digits and underscores")
    template = resources.files("procpilot.services").joinpath("pack_template")
    written = []
    for relative in _TEMPLATE_FILES:
        text = template.joinpath(relative).read_text(encoding="utf-8").replace("__PACK_ID__", pack_id)
        destination = target / relative.replace(".tmpl", "")
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    return written


_TEMPLATE_FILES = (
    "pack.yaml.tmpl",
    "flows/greet_order.yaml.tmpl",
    "tools/tools.py.tmpl",
    "tests/conversations.yaml.tmpl",
    "knowledge/faq.md.tmpl",
)
