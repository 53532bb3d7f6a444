"""``Toolset``: Python functions become tools, their type hints become JSON Schema."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procpilot.domain.errors import UserError
from procpilot.tools.context import ToolContext

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Tool:
    """A callable tool: name, whether it writes, a JSON Schema of its parameters, and the function.

    ``fn`` is None for HTTP tools, which the runner executes from their spec.
    """

    name: str
    description: str
    writes: bool
    parameters: dict[str, Any]
    fn: Callable[..., Any] | None = None
    wants_context: bool = False
    timeout: float | None = None
    http: Any = None


@dataclass
class Toolset:
    """A named group of tools; pack modules create one and decorate functions with ``tool``."""

    name: str = "tools"
    tools: dict[str, Tool] = field(default_factory=dict)

    def tool(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        writes: bool = False,
        description: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Register ``fn`` as a tool. Use bare (``@toolset.tool``) or with options."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            tool_name = name or func.__name__
            if tool_name in self.tools:
                raise UserError(f"tool {tool_name!r} is registered twice")
            parameters, wants_context = schema_of(func)
            doc = inspect.getdoc(func) or ""
            self.tools[tool_name] = Tool(
                name=tool_name,
                description=description or doc.split("\n\n")[0],
                writes=writes,
                parameters=parameters,
                fn=func,
                wants_context=wants_context,
                timeout=timeout,
            )
            return func

        return register(fn) if fn is not None else register


def _json_type(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = _json_type(inner[0]) if len(inner) == 1 else {}
        if type(None) in args and "type" in schema:
            schema = {**schema, "type": [schema["type"], "null"]}
        return schema
    if origin in (list, tuple) or annotation in (list, tuple):
        return {"type": "array", "items": _json_type(args[0])} if args else {"type": "array"}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if origin is typing.Literal:
        return {"enum": list(args)}
    return {}


def schema_of(func: Callable[..., Any]) -> tuple[dict[str, Any], bool]:
    """JSON Schema of ``func``'s parameters, and whether it takes a ToolContext first."""
    hints = typing.get_type_hints(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    wants_context = False
    for index, (pname, param) in enumerate(inspect.signature(func).parameters.items()):
        hint = hints.get(pname, Any)
        if index == 0 and hint is ToolContext:
            wants_context = True
            continue
        properties[pname] = _json_type(hint)
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        else:
            properties[pname]["default"] = param.default
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return schema, wants_context


def load_module_toolsets(path: Path, module_name: str) -> list[Toolset]:
    """Import a pack's Python tool file and return the Toolsets it defines at module level."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot import tools from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(module_name, None)
        raise UserError(f"importing {path.name} failed: {type(error).__name__}: {error}") from error
    found = [value for value in vars(module).values() if isinstance(value, Toolset)]
    if not found:
        raise UserError(f"{path.name} defines no Toolset (expected e.g. `toolset = Toolset()`)")
    return found


def module_function(path: Path, module_name: str, function: str) -> Callable[..., Any]:
    """A named function from an already-importable pack file (e.g. the database seed)."""
    module = sys.modules.get(module_name)
    if module is None:
        load_module_toolsets(path, module_name)
        module = sys.modules[module_name]
    func = getattr(module, function, None)
    if not callable(func):
        raise UserError(f"{path.name} has no function {function!r}")
    return typing.cast(Callable[..., Any], func)
