"""``ScriptedModel``: a fake for tests of the logic above the model port. Shipped, not mocked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from procpilot.llm import schema as structured
from procpilot.llm.errors import ModelError, ModelOutputInvalid
from procpilot.llm.types import ChatRequest, ChatResponse, StreamChunk, Usage

Reply = str | dict[str, Any] | list[Any] | Exception


class ScriptedModel:
    """Answers from a list of replies (in order) or from a function of the request.

    A dict or list reply is sent as JSON text; an exception reply is raised. ``requests`` keeps
    every request received, so tests can check what the model was asked.
    """

    def __init__(
        self, replies: list[Reply] | Callable[[ChatRequest], Reply], *, name: str = "scripted"
    ) -> None:
        self.name = name
        self._replies = replies
        self.requests: list[ChatRequest] = []

    def _next(self, request: ChatRequest) -> str:
        self.requests.append(request)
        if callable(self._replies):
            reply = self._replies(request)
        else:
            if not self._replies:
                raise ModelError(self.name, "the script has no more replies")
            reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply if isinstance(reply, str) else json.dumps(reply)

    def chat(self, request: ChatRequest) -> ChatResponse:
        text = self._next(request)
        usage = Usage(sum(len(m.content.split()) for m in request.messages), len(text.split()))
        data = None
        if request.json_schema is not None:
            try:
                data = structured.parse(self.name, text, request.json_schema)
            except ModelOutputInvalid as error:
                repaired = self._next(structured.repair_request(request, text, str(error)))
                data = structured.parse(self.name, repaired, request.json_schema)
                text = repaired
        return ChatResponse(text=text, model=self.name, usage=usage, data=data)

    def stream(self, request: ChatRequest) -> Iterator[StreamChunk]:
        text = self._next(request)
        words = text.split(" ")
        for index, word in enumerate(words):
            yield StreamChunk(word + (" " if index < len(words) - 1 else ""))
        yield StreamChunk("", done=True, usage=Usage(0, len(words)), finish_reason="stop")
