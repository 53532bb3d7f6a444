"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, OpenAI) over httpx.

Retries with backoff on 429 and 5xx and on connection failures, honouring Retry-After; never once
a stream has started. JSON output uses the server's ``json_schema`` response format where it has
one (``json_mode="schema"``); otherwise the schema is put in the prompt, the answer validated, and
one repair asked for. The API key goes in a header and nowhere else: not in logs, not in ``repr``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import structlog

from procpilot.llm import schema as structured
from procpilot.llm.errors import (
    ModelError,
    ModelOutputInvalid,
    ModelRateLimited,
    ModelTimeout,
    ModelUnavailable,
)
from procpilot.llm.providers.embedded import openai_body, read_chunk
from procpilot.llm.types import ChatRequest, ChatResponse, Message, StreamChunk, Usage

log = structlog.get_logger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class OpenAICompatibleModel:
    """``ChatModel`` over HTTP. ``transport`` lets tests swap the network, though ours use a real server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        name: str | None = None,
        api_key: str | None = None,
        json_mode: str = "schema",
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if json_mode not in ("schema", "prompt"):
            raise ValueError("json_mode must be 'schema' or 'prompt'")
        self.name = name or model
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.json_mode = json_mode
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, trust_env=False
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleModel(name={self.name!r}, base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatibleModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- requests --------------------------------------------------------------------------
    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        if request.json_schema is not None and self.json_mode == "prompt":
            request = ChatRequest(
                messages=(Message("system", structured.instructions(request.json_schema)), *request.messages),
                sampling=request.sampling,
                stop=request.stop,
                timeout=request.timeout,
            )
        body = openai_body(request, stream=stream)
        body["model"] = self.model
        return body

    def _send(self, body: dict[str, Any], timeout: float, *, stream: bool) -> httpx.Response:
        """POST, retrying refusals and failures before any answer has been read."""
        attempt = 0
        deadline = time.monotonic() + timeout
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ModelTimeout(self.name, f"no answer from {self.base_url} within {timeout:g}s")
            try:
                request = self._client.build_request(
                    "POST", "/chat/completions", json=body, timeout=httpx.Timeout(remaining)
                )
                response = self._client.send(request, stream=stream)
            except httpx.TimeoutException:
                raise ModelTimeout(self.name, f"no answer from {self.base_url} within {timeout:g}s") from None
            except httpx.TransportError as error:
                if attempt > self.retries:
                    raise ModelUnavailable(
                        self.name, f"{self.base_url} cannot be reached ({error}); check that the server runs"
                    ) from None
                self._sleep(attempt, None, deadline)
                continue
            if response.status_code in RETRY_STATUSES and attempt <= self.retries:
                retry_after = response.headers.get("retry-after")
                response.close()
                log.info("model.retry", model=self.name, status=response.status_code, attempt=attempt)
                self._sleep(attempt, retry_after, deadline)
                continue
            if response.status_code == 429:
                response.close()
                raise ModelRateLimited(
                    self.name, f"{self.base_url} kept answering 429 after {self.retries} retries"
                )
            if response.status_code >= 400:
                detail = response.read().decode(errors="replace")[:300]
                response.close()
                if response.status_code in (401, 403):
                    raise ModelUnavailable(
                        self.name, f"{self.base_url} refused the API key ({response.status_code})"
                    )
                raise ModelError(self.name, f"{self.base_url} answered {response.status_code}: {detail}")
            return response

    def _sleep(self, attempt: int, retry_after: str | None, deadline: float) -> None:
        delay = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = min(float(retry_after), self.max_backoff)
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))

    # ---- the port --------------------------------------------------------------------------
    def chat(self, request: ChatRequest) -> ChatResponse:
        response = self._complete(request)
        if request.json_schema is None:
            return response
        try:
            data = structured.parse(self.name, response.text, request.json_schema)
        except ModelOutputInvalid as error:
            log.warning("model.output_invalid", model=self.name, error=str(error))
            response = self._complete(structured.repair_request(request, response.text, str(error)))
            data = structured.parse(self.name, response.text, request.json_schema)
        return ChatResponse(
            text=response.text,
            model=response.model,
            usage=response.usage,
            finish_reason=response.finish_reason,
            data=data,
            seconds=response.seconds,
        )

    def _complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        response = self._send(self._body(request, stream=False), request.timeout, stream=False)
        try:
            payload = response.json()
            choice = payload["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelError(
                self.name, f"{self.base_url} sent an answer that is not a chat completion"
            ) from None
        usage = payload.get("usage") or {}
        return ChatResponse(
            text=text,
            model=self.name,
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            finish_reason=choice.get("finish_reason") or "stop",
            seconds=time.perf_counter() - started,
        )

    def stream(self, request: ChatRequest) -> Iterator[StreamChunk]:
        response = self._send(self._body(request, stream=True), request.timeout, stream=True)
        usage, finish = Usage(), None
        # From here on nothing is retried: part of the answer may already be on its way.
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise ModelError(self.name, "the stream sent a line that is not JSON") from None
                parts = read_chunk(chunk)
                usage, finish = parts.usage or usage, parts.finish or finish
                for text in parts.texts:
                    yield StreamChunk(text)
        except httpx.TimeoutException:
            raise ModelTimeout(self.name, f"the stream from {self.base_url} stalled") from None
        except httpx.TransportError as error:
            raise ModelUnavailable(
                self.name, f"the stream from {self.base_url} broke off ({error})"
            ) from None
        finally:
            response.close()
        yield StreamChunk("", done=True, usage=usage, finish_reason=finish or "stop")
