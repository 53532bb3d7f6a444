"""Rendering response templates: Jinja2 in a sandbox, so a pack's template cannot reach Python."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _money(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:
        symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(str(value.get("currency")), "")
        amount = Decimal(str(value["amount"])).quantize(Decimal("0.01"))
        sign = "-" if amount < 0 else ""
        return (
            f"{sign}{symbol}{abs(amount):,}" if symbol else f"{amount:,} {value.get('currency', '')}".strip()
        )
    if isinstance(value, int | float | Decimal | str):
        try:
            amount = Decimal(str(value)).quantize(Decimal("0.01"))
        except ArithmeticError:
            return str(value)
        return f"{'-' if amount < 0 else ''}${abs(amount):,}"
    return ""


class Renderer:
    """Renders templates with ``slots``, ``conversation``, ``context`` and friends in scope."""

    def __init__(self) -> None:
        self.env = ImmutableSandboxedEnvironment(
            undefined=jinja2.ChainableUndefined, autoescape=False, trim_blocks=False, lstrip_blocks=True
        )
        self.env.filters["money"] = _money
        self._compile = lru_cache(maxsize=1024)(self.env.from_string)

    def render(self, template: str, env: dict[str, Any]) -> str:
        """Render; a failure becomes a visible marker rather than an exception mid-conversation."""
        if "{" not in template:
            return template
        try:
            return self._compile(template).render(**env).strip()
        except jinja2.TemplateError as error:
            return f"[template error: {error}]"
