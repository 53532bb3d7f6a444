"""``CollectionService``: every turn recorded with what the assistant made of it, people's
ratings of replies, and the queue rules that send turns to reviewers."""

from __future__ import annotations

from typing import Any

import structlog

from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import NotFound, PermissionDenied, UserError
from procpilot.domain.review import reasons_for, turn_signals
from procpilot.storage.collection import CollectionRepository
from procpilot.storage.database import Database

log = structlog.get_logger(__name__)

RATINGS = ("up", "down")
REASONS = ("wrong", "not_understood", "unhelpful", "too_slow", "rude", "unsafe", "other")


class CollectionService:
    def __init__(self, database: Database) -> None:
        self.database = database

    def record_turn(
        self,
        *,
        tenant: str,
        pack_id: str,
        conversation_id: str,
        commands: list[dict[str, Any]],
        events: list[dict[str, Any]],
        handed_off: bool,
        understood_by: str,
        context: dict[str, Any] | None = None,
        model_fallback: bool = False,
        low_confidence: bool = False,
    ) -> int | None:
        """Record the turn just handled and put it in the queues whose rules it meets. A failure
        here is logged, never the person's problem: the conversation has already gone on."""
        try:
            with self.database.transaction() as c:
                repo = CollectionRepository(c, tenant)
                message = repo.last_user_message(conversation_id)
                if message is None:
                    return None
                replies = repo.bot_messages_after(conversation_id, message["id"])
                flows = [
                    e["data"].get("flow")
                    for e in events
                    if e["kind"] == "flow.started" and not e["data"].get("pattern")
                ]
                signals = turn_signals(
                    commands,
                    events,
                    handed_off=handed_off,
                    model_fallback=model_fallback,
                    low_confidence=low_confidence,
                )
                turn_id = repo.add_turn(
                    conversation_id=conversation_id,
                    pack_id=pack_id,
                    user_message_id=message["id"],
                    text=message["text"],
                    flow=next((f for f in flows if f), None) or _active_flow(events),
                    commands=commands,
                    slots={
                        e["data"]["slot"]: e["data"].get("value") for e in events if e["kind"] == "slot.set"
                    },
                    tools=_tools(events),
                    replies=replies,
                    signals=signals,
                    understood_by=understood_by,
                    context=context,
                )
                self._route(repo, pack_id, turn_id, signals)
                return turn_id
        except Exception:
            log.exception("turn.record_failed", conversation=conversation_id)
            return None

    def _route(self, repo: CollectionRepository, pack_id: str, turn_id: int, signals: list[str]) -> None:
        for queue in repo.queues():
            if queue["packs"] and pack_id not in queue["packs"]:
                continue
            reasons = reasons_for(queue["signals"], queue["sample_rate"], queue["id"], turn_id, signals)
            if reasons:
                repo.enqueue(queue["id"], turn_id, reasons)

    def rate(
        self,
        who: Principal,
        conversation_id: str,
        message_id: int,
        rating: str,
        reason: str | None = None,
        comment: str = "",
    ) -> dict[str, Any]:
        """Rate an assistant message of a conversation the caller may read; a thumbs down sends
        its turn to the queues that take thumbs down."""
        if rating not in RATINGS:
            raise UserError(f"rating must be one of {', '.join(RATINGS)}")
        if reason is not None and reason not in REASONS:
            raise UserError(f"reason must be one of {', '.join(REASONS)}")
        if len(comment) > 2000:
            raise UserError("a comment may have at most 2000 characters")
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            owner = repo.conversation_owner(conversation_id)
            if owner is None:
                raise NotFound(f"no conversation {conversation_id}")
            if owner != who.id and not (who.can(Permission.READ_ALL) or who.can(Permission.REVIEW)):
                raise PermissionDenied("only the conversation's own person, reviewers and operators rate it")
            turn = repo.turn_of_message(conversation_id, message_id)
            if turn is None:
                raise NotFound(f"no assistant message {message_id} in conversation {conversation_id}")
            repo.rate(
                conversation_id=conversation_id,
                message_id=message_id,
                turn_id=turn["id"],
                user_id=who.id,
                rating=rating,
                reason=reason,
                comment=comment,
            )
            if rating == "down":
                self._route(repo, turn["pack_id"], turn["id"], ["thumbs_down"])
        return {
            "conversation_id": conversation_id,
            "message_id": message_id,
            "rating": rating,
            "turn_id": turn["id"],
        }

    def feedback(self, tenant: str, conversation_id: str) -> list[dict[str, Any]]:
        with self.database.transaction() as c:
            return CollectionRepository(c, tenant).feedback_of(conversation_id)


def _active_flow(events: list[dict[str, Any]]) -> str | None:
    for event in reversed(events):
        flow = event["data"].get("flow")
        if flow and not str(flow).startswith("pattern_"):
            return str(flow)
    return None


def _tools(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls of the turn: name, arguments, and the result or the failure."""
    calls: list[dict[str, Any]] = []
    for event in events:
        data = event["data"]
        if event["kind"] == "tool.requested":
            calls.append({"name": data.get("tool"), "arguments": data.get("args") or {}})
        elif event["kind"] in ("tool.completed", "tool.failed") and calls:
            if event["kind"] == "tool.completed":
                calls[-1]["result"] = data.get("result")
            else:
                calls[-1]["error"] = data.get("error") or "failed"
    return calls
