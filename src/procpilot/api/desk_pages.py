"""The human agent's desk in the web app: the queue, a handed-off conversation followed live,
and the agent's reply, flow start, hand-back and close; also renaming and archiving a chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from procpilot.api.auth import Services
from procpilot.api.pages import POLL_SECONDS, STREAM_SECONDS, back, person, render, sse_html, templates
from procpilot.api.resume import resume_after
from procpilot.web.i18n import translator

router = APIRouter(include_in_schema=False)


@router.get("/desk", response_class=HTMLResponse)
async def desk_page(request: Request, c: Services) -> Response:
    who = await person(request)
    queue = await run_in_threadpool(c.handoffs.queue, who)
    return render(request, "desk.html", who, queue=queue)


@router.get("/desk/count", response_class=HTMLResponse)
async def desk_count(request: Request, c: Services) -> Response:
    who = await person(request)
    waiting = await run_in_threadpool(c.handoffs.waiting, who)
    label = translator(who.language)("waiting")
    html = f'<span class="count" title="{waiting} {label}">{waiting}</span>' if waiting else ""
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/desk/{handoff_id}/take")
async def desk_take(request: Request, handoff_id: str, c: Services) -> Response:
    who = await person(request)
    await run_in_threadpool(c.handoffs.take, who, handoff_id)
    return back(f"/desk/{handoff_id}")


@router.get("/desk/{handoff_id}", response_class=HTMLResponse)
async def desk_conversation(request: Request, handoff_id: str, c: Services) -> Response:
    who = await person(request)
    found = await run_in_threadpool(c.handoffs.view, who, handoff_id)
    last = found["messages"][-1]["id"] if found["messages"] else 0
    return render(request, "desk_conversation.html", who, handoff=found, last=last, desk=True)


@router.get("/desk/{handoff_id}/stream")
async def desk_stream(
    request: Request, handoff_id: str, c: Services, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0
) -> Response:
    """The person's new messages (and the assistant's) as they come, for the agent."""
    who = await person(request)
    seen = resume_after(request.headers.get("last-event-id"), after)
    await run_in_threadpool(c.handoffs.messages, who, handoff_id, 2**62)  # 404 before streaming
    t = translator(who.language)
    template = templates.get_template("_message.html")

    async def events() -> AsyncIterator[str]:
        nonlocal seen
        loop = asyncio.get_running_loop()
        until = loop.time() + STREAM_SECONDS
        yield "retry: 1000\n\n"
        while loop.time() < until and not await request.is_disconnected():
            found = await run_in_threadpool(c.handoffs.messages, who, handoff_id, seen)
            for message in found:
                seen = message["id"]
                yield sse_html("message", template.render(m=message, t=t, desk=True), message["id"])
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.post("/desk/{handoff_id}/messages")
async def desk_reply(
    request: Request,
    handoff_id: str,
    c: Services,
    text: Annotated[str, Form(min_length=1, max_length=4000)],
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.handoffs.reply, who, handoff_id, text)
    if request.headers.get("hx-request"):
        return Response(status_code=204)  # the message arrives through the page's event stream
    return back(f"/desk/{handoff_id}")


@router.post("/desk/{handoff_id}/flows")
async def desk_start_flow(
    request: Request, handoff_id: str, c: Services, flow: Annotated[str, Form(max_length=100)]
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.handoffs.start_flow, who, handoff_id, flow)
    return back("/desk")


@router.post("/desk/{handoff_id}/hand-back")
async def desk_hand_back(request: Request, handoff_id: str, c: Services) -> Response:
    who = await person(request)
    await run_in_threadpool(c.handoffs.hand_back, who, handoff_id)
    return back("/desk")


@router.post("/desk/{handoff_id}/close")
async def desk_close(request: Request, handoff_id: str, c: Services) -> Response:
    who = await person(request)
    await run_in_threadpool(c.handoffs.close, who, handoff_id)
    return back("/desk")


# -- a person's own chats: rename, archive ------------------------------------------------------


@router.post("/chat/{conversation_id}/rename")
async def chat_rename(
    request: Request, conversation_id: str, c: Services, title: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.chats.rename, who, conversation_id, title)
    return back(f"/chat/{conversation_id}")


@router.post("/chat/{conversation_id}/archive")
async def chat_archive(
    request: Request, conversation_id: str, c: Services, archived: Annotated[bool, Form()] = True
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.chats.archive, who, conversation_id, archived)
    return back("/chat" if archived else f"/chat/{conversation_id}")
