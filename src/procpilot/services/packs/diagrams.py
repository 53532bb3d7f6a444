"""A flow drawn as an SVG diagram, on the server: no JavaScript library, nothing fetched.

Steps stand in one column in the order they are written; falling through is a straight arrow down,
every jump (``next``, ``on_no``, ``on_error``, a branch's cases...) a labelled curve to the right of
the column, and ``END`` closes the column. Step types have their own colours.
"""

from __future__ import annotations

from html import escape
from typing import Any

from procpilot.domain.flows import Flow
from procpilot.domain.steps import END, Step

BOX_W, BOX_H, GAP, LEFT, TOP, LANE = 300, 46, 30, 20, 20, 22
COLOURS = {
    "collect": "#e3f2fd",
    "call": "#fff3e0",
    "approval": "#fce4ec",
    "confirm": "#ede7f6",
    "branch": "#fffde7",
    "respond": "#e8f5e9",
    "wait": "#e0f7fa",
    "generate": "#f3e5f5",
}
_JUMP_KEYS = ("next", "on_no", "on_error", "on_rejected", "on_timeout", "on_changes")


def _summary(step: Step) -> str:
    body: Any = step.as_dict().get(step.key)
    if isinstance(body, str):
        text = body
    elif isinstance(body, dict):
        text = ", ".join(f"{k}: {v}" for k, v in body.items() if isinstance(v, str | int | float))
    elif isinstance(body, list):
        text = f"{len(body)} case(s)"
    else:
        text = ""
    return text if len(text) <= 44 else text[:43] + "…"


def _marking(step_id: str, visited: frozenset[str], current: str | None) -> tuple[str, str]:
    """The CSS class and stroke of a step's box: where the instance is now, where it has been."""
    if step_id == current:
        return " current", 'stroke="#e65100" stroke-width="3"'
    if step_id in visited:
        return " visited", 'stroke="#2e7d32" stroke-width="2.5"'
    return "", 'stroke="#888"'


def _jumps(step: Step) -> list[tuple[str, str]]:
    """(label, target) of every explicit jump."""
    data = step.as_dict()
    found = [(key.removeprefix("on_"), str(data[key])) for key in _JUMP_KEYS if data.get(key)]
    if step.key == "branch":
        for case in data["branch"]:
            if "then" in case:
                found.append((str(case["if"]), str(case["then"])))
            else:
                found.append(("else", str(case["else"])))
    return found


def flow_svg(flow: Flow, visited: frozenset[str] = frozenset(), current: str | None = None) -> str:
    """The flow's diagram; for an instance, the steps it ran are marked (``visited``) and the
    one it is at now (``current``) stands out."""
    steps = list(flow.steps)
    index = {step.id: i for i, step in enumerate(steps)}
    index[END] = len(steps)

    def top(i: int) -> int:
        return TOP + i * (BOX_H + GAP)

    edges = [(i, label, target) for i, step in enumerate(steps) for label, target in _jumps(step)]
    width = LEFT + BOX_W + 60 + LANE * max(1, len(edges)) + 160
    height = top(len(steps)) + BOX_H + TOP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram" role="img" '
        f'aria-label="Flow {escape(flow.id)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    cx = LEFT + BOX_W // 2
    for i, step in enumerate(steps):
        y = top(i)
        fill = COLOURS.get(step.key, "#f5f5f5")
        marked, stroke = _marking(step.id, visited, current)
        parts.append(
            f'<g class="step{marked}" data-step="{escape(step.id)}"><rect x="{LEFT}" y="{y}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="8" fill="{fill}" {stroke}/>'
            f'<text x="{LEFT + 10}" y="{y + 18}" font-weight="bold">{escape(step.key)} · {escape(step.id)}</text>'
            f'<text x="{LEFT + 10}" y="{y + 36}" fill="#444">{escape(_summary(step))}</text>'
            + (
                f'<text x="{LEFT + BOX_W - 10}" y="{y + 18}" text-anchor="end" fill="#e65100" '
                f'font-weight="bold">◀ now</text>'
                if step.id == current
                else f'<text x="{LEFT + BOX_W - 10}" y="{y + 18}" text-anchor="end" fill="#2e7d32">✓</text>'
                if step.id in visited
                else ""
            )
            + "</g>"
        )
        if step.falls_through():
            parts.append(
                f'<line x1="{cx}" y1="{y + BOX_H}" x2="{cx}" y2="{top(i + 1) - 2}" stroke="#555" '
                f'marker-end="url(#arrow)"/>'
            )
    end_y = top(len(steps))
    marked, stroke = _marking(END, visited, current)
    parts.append(
        f'<g class="step{marked}" data-step="END"><rect x="{cx - 40}" y="{end_y}" width="80" height="{BOX_H}" '
        f'rx="23" fill="#eeeeee" {stroke}/><text x="{cx}" y="{end_y + 28}" text-anchor="middle" '
        f'font-weight="bold">END</text></g>'
    )
    for lane, (i, label, target) in enumerate(edges):
        if target not in index:
            continue
        x = LEFT + BOX_W + 20 + LANE * lane
        y1 = top(i) + BOX_H // 2
        j = index[target]
        y2 = top(j) + BOX_H // 2
        x_end = LEFT + BOX_W if target != END else cx + 40
        parts.append(
            f'<path class="jump" d="M {LEFT + BOX_W} {y1} H {x} V {y2} H {x_end + 2}" fill="none" '
            f'stroke="#1565c0" stroke-dasharray="4 2" marker-end="url(#arrow)"/>'
        )
        text = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{x + 4}" y="{(y1 + y2) // 2}" fill="#1565c0">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
