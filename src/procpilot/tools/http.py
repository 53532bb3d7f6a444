"""HTTP tools declared in a pack's YAML: method, URL template, headers, auth, response mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from procpilot.domain import expressions
from procpilot.domain.errors import ExpressionError, ToolError
from procpilot.domain.flows import HttpToolSpec
from procpilot.tools.toolset import Tool

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def http_tool(spec: HttpToolSpec) -> Tool:
    """The Tool for an HTTP spec; its parameters come from ``params`` (all required unless defaulted)."""
    properties = {name: dict(schema) for name, schema in spec.params.items()}
    required = [name for name, schema in spec.params.items() if "default" not in schema]
    return Tool(
        name=spec.name,
        description=spec.description,
        writes=spec.writes,
        parameters={"type": "object", "properties": properties, "required": required},
        timeout=spec.timeout,
        http=spec,
    )


def _fill(template: str, args: Mapping[str, Any], *, url: bool = False) -> str:
    def replace(match: re.Match[str]) -> str:
        value = args.get(match.group(1))
        text = "" if value is None else str(value)
        return quote(text, safe="") if url else text

    return _PLACEHOLDER.sub(replace, template)


def _fill_body(value: Any, args: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        return args.get(whole.group(1)) if whole else _fill(value, args)
    if isinstance(value, dict):
        return {k: _fill_body(v, args) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_body(v, args) for v in value]
    return value


def call_http(
    spec: HttpToolSpec,
    args: Mapping[str, Any],
    *,
    secrets: Mapping[str, str],
    idempotency_key: str,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> Any:
    """Perform the request and map the response; raises ToolError on failure or time-out."""
    headers = {name: _fill(value, args) for name, value in spec.headers.items()}
    auth: httpx.BasicAuth | None = None
    if spec.auth:
        secret_name = spec.auth["secret"]
        secret = secrets.get(secret_name)
        if secret is None:
            raise ToolError(
                spec.name,
                f"secret {secret_name!r} is not configured (set PROCPILOT_SECRET_{secret_name.upper()})",
            )
        kind = spec.auth["type"]
        if kind == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif kind == "header":
            headers[spec.auth.get("header", "X-API-Key")] = secret
        else:
            auth = httpx.BasicAuth(spec.auth.get("username", ""), secret)
    if spec.writes:
        headers["Idempotency-Key"] = idempotency_key
    url = _fill(spec.url, args, url=True)
    query = {name: _fill(value, args) for name, value in spec.query.items()}
    body = _fill_body(spec.body, args) if spec.body is not None else None
    try:
        with httpx.Client(timeout=timeout, transport=transport, trust_env=False) as client:
            response = client.request(spec.method, url, headers=headers, params=query, json=body, auth=auth)
    except httpx.TimeoutException:
        raise ToolError(
            spec.name, f"no answer from {spec.method} {url} within {timeout:g}s", timed_out=True
        ) from None
    except httpx.HTTPError as error:
        raise ToolError(spec.name, f"{spec.method} {url} failed: {error}") from None
    if response.status_code >= 400:
        raise ToolError(
            spec.name, f"{spec.method} {url} answered {response.status_code}: {response.text[:200]}"
        )
    try:
        payload: Any = response.json() if response.content else None
    except ValueError:
        payload = response.text
    if not spec.response:
        return payload
    env = {"response": payload, "status": response.status_code}
    try:
        return {name: expressions.evaluate(expr, env) for name, expr in spec.response.items()}
    except ExpressionError as error:
        raise ToolError(spec.name, f"response mapping failed: {error}") from None
