"""Load a pack folder into a validated ``Pack``, or report every problem found.

Order of work: ``pack.yaml`` and each ``flows/*.yaml`` are read with line numbers and checked
against the published JSON Schema; the built-in patterns are merged in (a pack's flow with the same
id wins); Python tool files are imported and HTTP tools built; then ``checks`` looks for dangling
references, unreachable steps and cycles with no way out. Nothing is half-loaded: either a Pack
comes back, or PackError with all problems.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema

from procpilot.domain.errors import PackError, Problem, UserError
from procpilot.domain.flows import Flow, HttpToolSpec, ModelUse, Pack, PackSettings
from procpilot.domain.schedules import Cron, Schedule
from procpilot.domain.slots import Option, SlotDef
from procpilot.domain.steps import step_from_dict, step_kind
from procpilot.packs.checks import check_flows
from procpilot.packs.schema import flow_schema, pack_schema
from procpilot.packs.yamlio import Located, load_located
from procpilot.tools.http import http_tool
from procpilot.tools.toolset import Tool, load_module_toolsets

BUILTIN_TOOLS = ("search_knowledge",)


@dataclass
class LoadedPack:
    """A pack and the tools it brings (Python and HTTP)."""

    pack: Pack
    tools: dict[str, Tool] = field(default_factory=dict)
    # The pack's behaviour as text (pack.yaml and flows/), and its digest: a conversation waiting
    # in a flow keeps running under the version it started with (see ``load_snapshot``).
    files: dict[str, str] = field(default_factory=dict)
    digest: str = ""


def behaviour_files(root: Path) -> dict[str, str]:
    """``pack.yaml`` and the flow files, by path relative to the pack folder."""
    found = {"pack.yaml": (root / "pack.yaml").read_text(encoding="utf-8")}
    if (root / "flows").is_dir():
        for file in sorted((root / "flows").glob("*.y*ml")):
            found[f"flows/{file.name}"] = file.read_text(encoding="utf-8")
    return found


def files_digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def load_snapshot(root: Path, files: dict[str, str], into: Path) -> LoadedPack:
    """Load an earlier version of the pack in ``root``: its flows and manifest from ``files``, the
    rest (tools, data, documents) as the folder has them now. The version is laid out in ``into``
    (kept: loading it again later is quick)."""
    into.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        link = into / entry.name
        if entry.name in ("pack.yaml", "flows") or link.exists() or link.is_symlink():
            continue
        os.symlink(entry, link)
    (into / "flows").mkdir(exist_ok=True)
    for relative, text in files.items():
        target = into / relative
        if target.parent not in (into, into / "flows"):
            raise UserError(f"pack snapshot file {relative!r} is outside pack.yaml and flows/")
        target.write_text(text, encoding="utf-8")
    return load_pack(into)


def _schema_problems(doc: Located, schema: dict[str, Any]) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path]):
        leaf = _deepest(error)
        path = tuple(leaf.absolute_path)
        where = "/".join(str(p) for p in path) or "top level"
        expected, found = _describe(leaf)
        problems.append(Problem(doc.file, doc.line(path), f"{where}: {leaf.message}", expected, found))
    return problems


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf failures pick the branch that got furthest, so the message is specific."""
    if error.context:
        step_kind_errors = [e for e in error.context if e.validator != "required" or len(error.context) == 1]
        candidates = step_kind_errors or list(error.context)
        best = max(candidates, key=lambda e: (len(e.absolute_path), e.validator != "required"))
        return _deepest(best)
    return error


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    found = repr(error.instance)[:60]
    if error.validator == "enum":
        return "one of " + ", ".join(str(v) for v in error.validator_value), found  # type: ignore[union-attr]
    if error.validator == "type":
        return str(error.validator_value), type(error.instance).__name__
    if error.validator == "required":
        return "the key " + ", ".join(str(v) for v in error.validator_value), ""  # type: ignore[union-attr]
    if error.validator == "additionalProperties":
        return "only known keys", found
    return "", ""


def _options(raw: list[Any]) -> tuple[Option, ...]:
    out = []
    for item in raw:
        if isinstance(item, dict):
            synonyms = tuple(str(w) for w in item.get("synonyms") or ())
            out.append(Option(item["value"], str(item.get("label", item["value"])), synonyms))
        else:
            out.append(Option(item, str(item)))
    return tuple(out)


def _slot(name: str, data: dict[str, Any]) -> SlotDef:
    return SlotDef(
        name=name,
        type=data["type"],
        description=data.get("description", ""),
        options=_options(data.get("options") or []),
        options_from=data.get("options_from"),
        option_value=data.get("option_value"),
        option_label=data.get("option_label"),
        multiple=bool(data.get("multiple", False)),
        currency=data.get("currency", "USD"),
        pattern=data.get("pattern"),
        initial=data.get("initial"),
        ties=data.get("ties", "ask"),
        direction=data.get("direction", "any"),
        newest=data.get("newest"),
    )


def _flow(data: dict[str, Any], doc: Located, path: tuple[Any, ...], pattern: bool) -> Flow:
    steps = []
    for index, raw in enumerate(data["steps"]):
        step_data = dict(raw)
        step_data.setdefault("id", f"{index + 1}_{step_kind(step_data)}")
        step_data["__line__"] = doc.line((*path, "steps", index))
        steps.append(step_from_dict(step_data))
    return Flow(
        id=data["id"],
        name=data.get("name", ""),
        description=data.get("description", ""),
        examples=tuple(data.get("examples") or ()),
        keywords=tuple(data.get("keywords") or ()),
        allowed_roles=tuple(data.get("allowed_roles") or ()),
        slots={name: _slot(name, spec) for name, spec in (data.get("slots") or {}).items()},
        steps=tuple(steps),
        pattern=pattern or data["id"].startswith("pattern_"),
        source=f"{doc.file}:{doc.line(path)}",
    )


def _flows_in(doc: Located, pattern: bool) -> list[tuple[Flow, str, int | None]]:
    entries: list[tuple[Any, tuple[Any, ...]]]
    if "flows" in doc.data:
        entries = [(item, ("flows", i)) for i, item in enumerate(doc.data["flows"])]
    else:
        entries = [(doc.data, ())]
    return [(_flow(item, doc, path, pattern), doc.file, doc.line(path)) for item, path in entries]


def builtin_patterns() -> dict[str, Flow]:
    """The patterns every pack gets unless it overrides them."""
    source = resources.files("procpilot.packs").joinpath("patterns.yaml")
    with resources.as_file(source) as path:
        doc, problems = load_located(path)
    if doc is None or problems:
        raise PackError("builtin", problems)
    return {flow.id: flow for flow, _, _ in _flows_in(doc, pattern=True)}


def load_pack(path: str | Path) -> LoadedPack:
    """Load and validate the pack in folder ``path``; raises PackError listing every problem."""
    root = Path(path).resolve()
    pack_name = root.name
    if not (root / "pack.yaml").is_file():
        raise PackError(pack_name, [Problem(str(root), None, "no pack.yaml in this folder", "a pack folder")])
    problems: list[Problem] = []
    manifest, found = load_located(root / "pack.yaml", root)
    problems += found
    if manifest is not None:
        problems += _schema_problems(manifest, pack_schema())
    flows: dict[str, Flow] = {}
    flow_files = sorted((root / "flows").glob("*.y*ml")) if (root / "flows").is_dir() else []
    if not flow_files:
        problems.append(Problem("flows/", None, "the pack has no flow files", "at least one flows/*.yaml"))
    for file in flow_files:
        doc, found = load_located(file, root)
        problems += found
        if doc is None:
            continue
        schema_problems = _schema_problems(doc, flow_schema())
        problems += schema_problems
        if schema_problems:
            continue
        for flow, source, line in _flows_in(doc, pattern=False):
            if flow.id in flows:
                problems.append(
                    Problem(
                        source,
                        line,
                        f"flow id {flow.id!r} is defined twice",
                        "unique flow ids",
                        flows[flow.id].source,
                    )
                )
            flows[flow.id] = flow
    if problems or manifest is None:
        raise PackError(pack_name, problems)

    spec = manifest.data
    pack_id = spec["id"]
    tools: dict[str, Tool] = {}
    tool_modules = tuple(spec.get("tools", {}).get("python", []))
    for index, module_path in enumerate(tool_modules):
        file = root / module_path
        line = manifest.line(("tools", "python", index))
        if not file.is_file():
            problems.append(Problem("pack.yaml", line, f"tool file {module_path!r} does not exist"))
            continue
        try:
            for toolset in load_module_toolsets(file, f"procpilot_pack_{pack_id}_{file.stem}"):
                for tool in toolset.tools.values():
                    if tool.name in tools:
                        problems.append(Problem(module_path, None, f"tool {tool.name!r} is defined twice"))
                    tools[tool.name] = tool
        except UserError as error:
            problems.append(Problem(module_path, None, str(error)))
    http_specs: dict[str, HttpToolSpec] = {}
    for name, raw in (spec.get("tools", {}).get("http") or {}).items():
        http_spec = HttpToolSpec(
            name=name,
            description=raw.get("description", ""),
            method=raw["method"],
            url=raw["url"],
            writes=bool(raw.get("writes", raw["method"] != "GET")),
            headers=dict(raw.get("headers") or {}),
            params=dict(raw.get("params") or {}),
            query=dict(raw.get("query") or {}),
            body=raw.get("body"),
            auth=dict(raw.get("auth") or {}),
            response=dict(raw.get("response") or {}),
            timeout=float(raw.get("timeout", 10.0)),
        )
        if name in tools:
            problems.append(
                Problem(
                    "pack.yaml", manifest.line(("tools", "http", name)), f"tool {name!r} is defined twice"
                )
            )
        http_specs[name] = http_spec
        tools[name] = http_tool(http_spec)

    merged = {**builtin_patterns(), **flows}
    settings = PackSettings(**(spec.get("settings") or {}))
    problems += check_flows(merged, set(tools) | set(BUILTIN_TOOLS))
    seed = (spec.get("database") or {}).get("seed")
    if seed and not (root / seed.split(":")[0]).is_file():
        problems.append(
            Problem("pack.yaml", manifest.line(("database", "seed")), f"seed file {seed!r} does not exist")
        )
    schedules = []
    for index, raw in enumerate(spec.get("schedules") or []):
        line = manifest.line(("schedules", index))
        scheduled = merged.get(raw["flow"])
        if scheduled is None or scheduled.pattern:
            problems.append(
                Problem(
                    "pack.yaml", line, f"schedule runs unknown flow {raw['flow']!r}", "a flow id of this pack"
                )
            )
        try:
            Cron.parse(raw["cron"])
        except UserError as error:
            problems.append(Problem("pack.yaml", line, str(error), "e.g. '0 9 * * MON-FRI'"))
        schedules.append(Schedule(raw["flow"], raw["cron"], tuple(raw.get("tenants") or ())))
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem(
                "pack.yaml",
                manifest.line(("settings", "timezone")),
                f"unknown time zone {settings.timezone!r}",
                "e.g. Europe/Berlin or UTC",
            )
        )
    if problems:
        raise PackError(pack_id, problems)
    pack = Pack(
        id=pack_id,
        name=spec.get("name", pack_id),
        root=str(root),
        version=str(spec.get("version", "1")),
        description=spec.get("description", ""),
        flows=merged,
        tool_modules=tool_modules,
        http_tools=http_specs,
        settings=settings,
        database_seed=seed,
        responses=dict(spec.get("responses") or {}),
        secrets=tuple(spec.get("secrets") or ()),
        models={use: ModelUse(**config) for use, config in (spec.get("models") or {}).items()},
        schedules=tuple(schedules),
    )
    files = behaviour_files(root)
    return LoadedPack(pack=pack, tools=tools, files=files, digest=files_digest(files))
