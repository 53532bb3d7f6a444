"""A small OpenAI-compatible server on loopback, backed by the real embedded model.

Knobs let a test make it refuse (429/503), stall, break a stream, or send bad JSON, so the
OpenAI-compatible provider is tested against real HTTP rather than a mocked transport.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from procpilot.llm import ChatRequest, Message, Sampling
from procpilot.llm.providers.embedded import EmbeddedModel


@dataclass
class Knobs:
    refuse: list[int] = field(default_factory=list)  # statuses to answer before serving, one per request
    delay: float = 0.0
    break_stream_after: int | None = None
    replies: list[str] = field(default_factory=list)  # canned answers instead of the model, in order
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def make_app(model: EmbeddedModel, knobs: Knobs) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        knobs.requests.append(body)
        knobs.headers.append(dict(request.headers))
        if knobs.refuse:
            status = knobs.refuse.pop(0)
            return JSONResponse(
                {"error": {"message": "busy"}}, status_code=status, headers={"retry-after": "0"}
            )
        if knobs.delay:
            time.sleep(knobs.delay)
        chat = ChatRequest(
            messages=tuple(Message(m["role"], m["content"]) for m in body["messages"]),
            sampling=Sampling(max_tokens=body.get("max_tokens", 32), temperature=body.get("temperature")),
            json_schema=(body.get("response_format") or {}).get("json_schema", {}).get("schema"),
        )
        if body.get("stream"):
            return StreamingResponse(_sse(model, chat, knobs), media_type="text/event-stream")
        if knobs.replies:
            text, usage = knobs.replies.pop(0), {"prompt_tokens": 1, "completion_tokens": 1}
        else:
            answer = model.chat(chat)
            text, usage = (
                answer.text,
                {
                    "prompt_tokens": answer.usage.prompt_tokens,
                    "completion_tokens": answer.usage.completion_tokens,
                },
            )
        return JSONResponse(
            {
                "id": "x",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": usage,
            }
        )

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _sse(model: EmbeddedModel, chat: ChatRequest, knobs: Knobs) -> Iterator[str]:
    sent = 0
    for chunk in model.stream(chat):
        if knobs.break_stream_after is not None and sent >= knobs.break_stream_after:
            raise ConnectionError("stream broken on purpose")
        if chunk.done:
            usage = {
                "prompt_tokens": chunk.usage.prompt_tokens if chunk.usage else 0,
                "completion_tokens": chunk.usage.completion_tokens if chunk.usage else 0,
            }
            yield (
                "data: "
                + json.dumps(
                    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
                )
                + "\n\n"
            )
        else:
            sent += 1
            yield (
                "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": chunk.text}}]}) + "\n\n"
            )
    yield "data: [DONE]\n\n"


class LoopbackServer:
    """Runs the app with uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Starlette) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
