"""The human agent's desk over HTTP: the queue, one handed-off conversation, and what an agent does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from procpilot.api.auth import Caller, Services
from procpilot.api.conversations import reply_out
from procpilot.api.schemas import AgentReplyIn, ReplyOut, StartForIn

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"])


@router.get("")
def queue(c: Services, who: Caller) -> list[dict[str, Any]]:
    """Conversations handed to a person and not ended, oldest first, with how long each waited."""
    return c.handoffs.queue(who)


@router.get("/{handoff_id}")
def view(handoff_id: str, c: Services, who: Caller, after: int = 0) -> dict[str, Any]:
    """The conversation so far, what the assistant understood, and the flows that can be started."""
    return c.handoffs.view(who, handoff_id, after)


@router.post("/{handoff_id}/take")
def take(handoff_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """Take a waiting conversation (409 when another agent took it first)."""
    return c.handoffs.take(who, handoff_id)


@router.post("/{handoff_id}/messages", status_code=204)
def reply(handoff_id: str, body: AgentReplyIn, c: Services, who: Caller) -> None:
    """Write in the person's chat, as the agent."""
    c.handoffs.reply(who, handoff_id, body.text)


@router.post("/{handoff_id}/flows", response_model=ReplyOut)
def start_flow(handoff_id: str, body: StartForIn, c: Services, who: Caller) -> Any:
    """Start a flow for the person; the assistant takes the conversation back to run it."""
    return reply_out(c.handoffs.start_flow(who, handoff_id, body.flow))


@router.post("/{handoff_id}/hand-back", status_code=204)
def hand_back(handoff_id: str, c: Services, who: Caller) -> None:
    c.handoffs.hand_back(who, handoff_id)


@router.post("/{handoff_id}/close", status_code=204)
def close(handoff_id: str, c: Services, who: Caller) -> None:
    c.handoffs.close(who, handoff_id)
