"""Conversations: send a message (a reply, or a stream of it), read the history, follow it live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from procpilot.api.auth import Caller, Services
from procpilot.api.resume import resume_after
from procpilot.api.schemas import ConversationChangeIn, MessageIn, NewConversationIn, ReplyOut
from procpilot.services.conversations.messages import Reply

router = APIRouter(prefix="/api/conversations", tags=["conversations"])

SSE = "text/event-stream"
FOLLOW_SECONDS = 25.0  # a live stream closes after this; EventSource reconnects with Last-Event-ID
POLL_SECONDS = 0.4


def reply_out(reply: Reply) -> ReplyOut:
    return ReplyOut.model_validate(
        {
            "conversation_id": reply.conversation_id,
            "messages": reply.messages,
            "commands": reply.commands,
            "active_flows": reply.active_flows,
            "handed_off": reply.handed_off,
        }
    )


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str, ensure_ascii=False)}\n\n"


def streamed(reply: Reply) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        for message in reply.messages:
            yield sse("message", message)
        yield sse("done", reply_out(reply).model_dump())

    return StreamingResponse(events(), media_type=SSE, headers={"Cache-Control": "no-store"})


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {SSE: {"schema": {"type": "string"}}}, "description": "The reply, or its stream."}
}


@router.get("")
def list_conversations(
    c: Services, who: Caller, all: bool = False, archived: bool = False
) -> list[dict[str, Any]]:
    """The caller's conversations, newest first; with ``all=true`` the tenant's (admin, auditor);
    with ``archived=true`` the archived ones."""
    return c.chats.listing(who, everyone=all, archived=archived)


@router.patch("/{conversation_id}", status_code=204)
def change_conversation(conversation_id: str, body: ConversationChangeIn, c: Services, who: Caller) -> None:
    """Rename a conversation of one's own (an empty title brings back its first request), or
    archive it (``archived: false`` brings it back). Nothing in it is deleted."""
    if body.title is not None:
        c.chats.rename(who, conversation_id, body.title)
    if body.archived is not None:
        c.chats.archive(who, conversation_id, body.archived)


@router.post("", response_model=ReplyOut, responses=RESPONSES)
async def start_conversation(
    body: NewConversationIn, c: Services, who: Caller, accept: str = Header(default="application/json")
) -> Any:
    """Start a conversation with a pack's assistant. ``Accept: text/event-stream`` streams the reply."""
    reply = await run_in_threadpool(
        c.chats.send, who, text=body.text, pack_id=body.pack, conversation_id=body.conversation_id
    )
    return streamed(reply) if SSE in accept else reply_out(reply)


@router.post("/{conversation_id}/messages", response_model=ReplyOut, responses=RESPONSES)
async def send_message(
    conversation_id: str,
    body: MessageIn,
    c: Services,
    who: Caller,
    accept: str = Header(default="application/json"),
) -> Any:
    reply = await run_in_threadpool(c.chats.send, who, text=body.text, conversation_id=conversation_id)
    return streamed(reply) if SSE in accept else reply_out(reply)


@router.get("/{conversation_id}")
def get_conversation(conversation_id: str, c: Services, who: Caller) -> dict[str, Any]:
    return c.chats.history(who, conversation_id)


@router.get("/{conversation_id}/events")
def get_events(conversation_id: str, c: Services, who: Caller) -> list[dict[str, Any]]:
    """The conversation's append-only record: commands, steps, slots, tool calls, approvals."""
    return [
        {"id": e["id"], "kind": e["kind"], "data": e["data"], "at": str(e["created_at"])}
        for e in c.chats.events(who, conversation_id)
    ]


@router.get("/{conversation_id}/stream", responses={200: {"content": {SSE: {"schema": {"type": "string"}}}}})
async def follow(
    conversation_id: str,
    request: Request,
    c: Services,
    who: Caller,
    after: int = Query(default=0, ge=0, le=2**63 - 1),
    wait: float = Query(default=FOLLOW_SECONDS, ge=0, le=120, description="Seconds to hold the stream open."),
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """New messages as server-sent events (``message``), also those that arrive later without a
    question: an approval decided, a timer fired. Resumes after ``Last-Event-ID``; the stream
    closes after ``wait`` seconds and an EventSource reconnects by itself."""
    start = resume_after(last_event_id, after)
    await run_in_threadpool(c.chats.require_readable, who, conversation_id)  # 404 before streaming

    async def events() -> AsyncIterator[str]:
        seen = start
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        yield "retry: 1000\n\n"
        while True:
            found = await run_in_threadpool(c.chats.history, who, conversation_id, seen)
            for message in found["messages"]:
                seen = message["id"]
                yield sse("message", message, message["id"])
            if loop.time() >= until or await request.is_disconnected():
                break
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type=SSE, headers={"Cache-Control": "no-store"})
