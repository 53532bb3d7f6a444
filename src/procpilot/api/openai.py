"""An OpenAI-compatible endpoint: any OpenAI client library or chat front end talks to a pack.

``model`` is the pack's id. The conversation is the one named by the ``X-Procpilot-Conversation``
header (any string the client keeps per chat); without it, procpilot finds the conversation whose
earlier messages are the ones the client resent, and starts a new one for a new chat. The reply's
``X-Procpilot-Conversation`` header names the stored conversation. Authenticate with an API key as
the bearer token (the client's ``api_key``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from procpilot.api.auth import Caller, Services
from procpilot.api.schemas import ChatCompletionIn
from procpilot.domain.errors import UserError
from procpilot.services.conversations.chats import written_text

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

CONVERSATION_HEADER = "X-Procpilot-Conversation"


@router.get("/models")
def models(c: Services, who: Caller) -> dict[str, Any]:
    """The served packs, as models."""
    return {
        "object": "list",
        "data": [
            {"id": pack_id, "object": "model", "created": 0, "owned_by": "procpilot"}
            for pack_id in sorted(c.catalog.packs)
        ],
    }


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, Any], finish: str | None) -> str:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


@router.post(
    "/chat/completions",
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def chat_completions(
    body: ChatCompletionIn,
    c: Services,
    who: Caller,
    x_procpilot_conversation: str | None = Header(default=None, max_length=200),
) -> Response:
    """Answer the last user message as the pack's assistant (``stream: true`` for chunks)."""
    chat: list[tuple[str, str]] = [
        (m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")
    ]
    if not chat or chat[-1][0] != "user" or not chat[-1][1].strip():
        raise UserError("the last message must be a user message with text")
    mark = await run_in_threadpool(c.models.usage_mark, who.tenant)
    reply = await run_in_threadpool(
        c.chats.continue_chat,
        who,
        pack_id=body.model,
        messages=chat,
        conversation_key=x_procpilot_conversation,
    )
    text = written_text(reply)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    headers = {CONVERSATION_HEADER: reply.conversation_id}
    # The models this message made procpilot call (understanding, generation, answers); none: 0.
    used = await run_in_threadpool(c.models.usage, who.tenant, reply.conversation_id, mark)
    usage = {
        "prompt_tokens": used["prompt_tokens"],
        "completion_tokens": used["completion_tokens"],
        "total_tokens": used["prompt_tokens"] + used["completion_tokens"],
    }
    if not body.stream:
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": body.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": usage,
            },
            headers=headers,
        )

    async def chunks() -> AsyncIterator[str]:
        yield _chunk(completion_id, created, body.model, {"role": "assistant", "content": ""}, None)
        for n, word in enumerate(text.split(" ")):
            yield _chunk(
                completion_id, created, body.model, {"content": word if n == 0 else " " + word}, None
            )
        yield _chunk(completion_id, created, body.model, {}, "stop")
        if body.stream_options and body.stream_options.get("include_usage"):
            last = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                    "model": body.model, "choices": [], "usage": usage}  # fmt: skip
            yield f"data: {json.dumps(last)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers=headers)
