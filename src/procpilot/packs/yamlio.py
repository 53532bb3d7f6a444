"""YAML reading that remembers where each value came from, so problems can name a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from procpilot.domain.errors import Problem

JsonPath = tuple[str | int, ...]


class Located:
    """Parsed YAML data plus the line of every node, keyed by its path."""

    def __init__(self, data: Any, lines: dict[JsonPath, int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line(self, path: JsonPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def _construct(node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if isinstance(key, list | dict):
                key = str(key)
            result[key] = _construct(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, index), lines) for index, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_located(path: Path, root: Path | None = None) -> tuple[Located | None, list[Problem]]:
    """Read a YAML file; on a syntax error return the problem with its line instead of raising."""
    name = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        return None, [Problem(name, None, f"cannot read file: {error.strerror}")]
    except UnicodeDecodeError:
        return None, [Problem(name, None, "file is not UTF-8 text")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark else None
        return None, [Problem(name, line, f"malformed YAML: {error.problem}", "valid YAML")]
    if node is None:
        return None, [Problem(name, 1, "file is empty", "a mapping")]
    lines: dict[JsonPath, int] = {}
    try:
        data = _construct(node, (), lines)
    except yaml.YAMLError as error:
        return None, [Problem(name, node.start_mark.line + 1, f"malformed YAML: {error}")]
    return Located(data, lines, name), []
