"""``PackService``: validating packs, publishing their schema, and starting new ones."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import NotFound, Problem, UserError
from procpilot.packs.schema import flow_schema, pack_schema
from procpilot.services.packs.catalog import PackCatalog, validate_folder
from procpilot.services.packs.diagrams import flow_svg


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
    template = resources.files("procpilot.services.packs").joinpath("template")
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


# -- served packs, as the API and the pack browser show them ----------------------------------


def describe(catalog: PackCatalog, pack_id: str) -> dict[str, Any]:
    """A served pack: its flows with their slots and steps (what the pack browser shows)."""
    runtime = catalog.get(pack_id)
    pack = runtime.loaded.pack
    return {
        "id": pack.id,
        "name": pack.name,
        "version": pack.version,
        "description": pack.description,
        "schedules": [{"flow": s.flow, "cron": s.cron} for s in pack.schedules],
        "flows": [
            {
                "id": flow.id,
                "name": flow.title,
                "description": flow.description,
                "allowed_roles": list(flow.allowed_roles),
                "slots": {name: slot.type for name, slot in flow.slots.items()},
                "steps": [step.as_dict() | {"type": step.key} for step in flow.steps],
            }
            for flow in pack.user_flows()
        ],
    }


def diagram(catalog: PackCatalog, pack_id: str, flow_id: str) -> str:
    pack = catalog.get(pack_id).loaded.pack
    flow = pack.flows.get(flow_id)
    if flow is None:
        raise NotFound(f"no flow {flow_id!r} in pack {pack_id!r}")
    return flow_svg(flow)


def reload_all(principal: Principal, catalog: PackCatalog) -> list[dict[str, Any]]:
    """Load every pack folder again; one that fails validation keeps its last good version."""
    principal.require(Permission.DESIGN, "reloading packs")
    catalog.load_all()
    return catalog.summary()


def reload_models(principal: Principal, catalog: PackCatalog, pack_id: str) -> dict[str, Any]:
    principal.require(Permission.DESIGN, "reloading a pack's models")
    runtime = catalog.reload_models(pack_id)
    return {"id": pack_id, "understanding": type(runtime.understanding.intents).__name__}


def validate_served(principal: Principal, catalog: PackCatalog, pack_id: str) -> dict[str, Any]:
    """Validate a served pack's folder as it is on disk now (before reloading it)."""
    principal.require(Permission.DESIGN, "validating packs")
    folder = catalog.packs_dir / pack_id
    if pack_id in catalog.packs:
        folder = Path(catalog.packs[pack_id].loaded.pack.root)
    if not (folder / "pack.yaml").is_file():
        raise NotFound(f"no pack {pack_id!r} in {catalog.packs_dir}")
    problems = validate_folder(folder)
    return {"id": pack_id, "valid": not problems, "problems": [str(p) for p in problems]}
