"""``ReviewService``: review queues set up, items leased one reviewer at a time, every answer
kept, disagreements settled by one more reviewer; a reviewed turn becomes a conversation test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import NotFound, PermissionDenied, StateConflict, UserError
from procpilot.domain.identifiers import check_id
from procpilot.domain.review import SIGNALS, VERDICTS, check_signals, clean_answer, settle
from procpilot.services.data import exports
from procpilot.storage.collection import CollectionRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database

LEASE_SECONDS = 15 * 60


class ReviewService:
    def __init__(self, database: Database, lease_seconds: float = LEASE_SECONDS) -> None:
        self.database = database
        self.lease_seconds = lease_seconds

    # --- queues ---

    def save_queue(
        self,
        who: Principal,
        queue_id: str,
        *,
        name: str = "",
        signals: list[str],
        sample_rate: float = 0.0,
        packs: list[str] | None = None,
        assignees: list[str] | None = None,
        assignee_role: str | None = "reviewer",
        guideline: str = "",
        reviews_needed: int = 1,
    ) -> dict[str, Any]:
        who.require(Permission.CURATE, "setting up a review queue")
        check_id("queue", queue_id)
        if not 0.0 <= sample_rate <= 1.0:
            raise UserError("sample_rate must be between 0 and 1")
        if not 1 <= reviews_needed <= 5:
            raise UserError("reviews_needed must be 1 to 5")
        listed = check_signals(signals)
        if not listed and sample_rate == 0:
            raise UserError(f"a queue needs signals ({', '.join(SIGNALS)}) or a sample_rate")
        with self.database.transaction() as c:
            CollectionRepository(c, who.tenant).save_queue(
                queue_id,
                name=name or queue_id,
                signals=listed,
                sample_rate=sample_rate,
                packs=packs or [],
                assignees=assignees or [],
                assignee_role=assignee_role,
                guideline=guideline,
                reviews_needed=reviews_needed,
            )
        return self.queue(who, queue_id)

    def queues(self, who: Principal) -> list[dict[str, Any]]:
        """The queues the caller reviews (every queue, for curators), with their progress."""
        if not (who.can(Permission.REVIEW) or who.can(Permission.CURATE)):
            raise PermissionDenied("review queues are for the roles reviewer, data_steward and admin")
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            return [
                {**_queue_out(q), "progress": repo.progress(q["id"])}
                for q in repo.queues()
                if who.can(Permission.CURATE) or _assigned(q, who)
            ]

    def queue(self, who: Principal, queue_id: str) -> dict[str, Any]:
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            queue = repo.queue(queue_id)
            if queue is None or not _may_read(queue, who):
                raise NotFound(f"no review queue {queue_id}")
            return {**_queue_out(queue), "progress": repo.progress(queue_id)}

    # --- items ---

    def next_item(self, who: Principal, queue_id: str) -> dict[str, Any] | None:
        """Lease the next item of the queue to the caller (None when nothing is left for them)."""
        self._reviewer_of(who, queue_id)
        with self.database.transaction() as c:
            item_id = CollectionRepository(c, who.tenant).lease_next(queue_id, who.id, self.lease_seconds)
        return None if item_id is None else self.item(who, item_id)

    def item(self, who: Principal, item_id: int) -> dict[str, Any]:
        """One item: the turn, the conversation around it, the reviews so far."""
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            item, queue = _item_and_queue(repo, item_id, lambda q: _may_read(q, who))
            turn = repo.turn(item["turn_id"])
            assert turn is not None
            history = ConversationRepository(c, who.tenant).messages(turn["conversation_id"])
            answers = repo.reviews_of([item_id]).get(item_id, [])
            ratings = repo.ratings_of_turns([turn["id"]]).get(turn["id"], [])
        last_reply = max((r["id"] for r in turn["replies"]), default=turn["user_message_id"])
        return {
            "id": item_id,
            "queue": _queue_out(queue),
            "status": item["status"],
            "reasons": item["reasons"],
            "lease_holder": item["lease_holder"],
            "lease_until": item["lease_until"].isoformat() if item["lease_until"] else None,
            "turn": _turn_out(turn),
            "conversation": [
                {
                    "id": m["id"],
                    "role": m["role"],
                    "text": m["text"],
                    "this_turn": turn["user_message_id"] <= m["id"] <= last_reply,
                }
                for m in history
            ],
            "ratings": [
                {"rating": r["rating"], "reason": r["reason"], "comment": r["comment"], "by": r["user_id"]}
                for r in ratings
            ],
            "reviews": [
                {
                    "reviewer": r["reviewer"],
                    "verdict": r["verdict"],
                    "answer": r["answer"],
                    "at": r["created_at"].isoformat(),
                }
                for r in answers
            ],
        }

    def review(
        self, who: Principal, item_id: int, verdict: str, answer: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Submit, skip or reject an item the caller holds (or that nobody holds)."""
        if verdict not in VERDICTS:
            raise UserError(f"verdict must be one of {', '.join(VERDICTS)}")
        cleaned = clean_answer(answer or {})
        if verdict == "submit" and not cleaned:
            raise UserError("a submitted review needs an answer: intent, commands, slots or reply")
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            item, queue = _item_and_queue(
                repo, item_id, lambda q: who.can(Permission.REVIEW) and _may_read(q, who)
            )
            now = dt.datetime.now(dt.UTC)
            holder, until = item["lease_holder"], item["lease_until"]
            if holder and holder != who.id and until is not None and until > now:
                raise StateConflict(
                    f"review item {item_id} is held by {holder} until {until.isoformat(timespec='seconds')}"
                )
            if item["status"] in ("done", "rejected"):
                raise StateConflict(f"review item {item_id} is already {item['status']}")
            earlier = repo.reviews_of([item_id]).get(item_id, [])
            if verdict != "skip" and any(r["reviewer"] == who.id and r["verdict"] != "skip" for r in earlier):
                raise StateConflict(f"you have already reviewed item {item_id}; another reviewer is needed")
            stored = {"rejected": True, **cleaned} if verdict == "reject" else cleaned
            repo.add_review(item_id, who.id, verdict, stored)
            if verdict == "skip":
                repo.release(item_id)
                return {"id": item_id, "status": item["status"]}
            answers = [r["answer"] for r in earlier if r["verdict"] != "skip"] + [stored]
            status, settled = settle(answers, queue["reviews_needed"])
            if status == "done" and settled and settled.get("rejected"):
                status = "rejected"
            repo.set_status(item_id, status)
            if status in ("open", "disputed"):
                repo.release(item_id)
        return {"id": item_id, "status": status, "answer": settled}

    def as_conversation_test(self, who: Principal, item_id: int) -> str:
        """The reviewed conversation up to this turn as a conversation test of its pack (YAML),
        written by the ``tests`` export: the person's messages as they were; on the reviewed turn,
        what the reviewers settled (the flow, the slots, the reply) as the expectations."""
        item = self.item(who, item_id)
        if item["status"] != "done":
            raise UserError(f"review item {item_id} is not settled yet ({item['status']})")
        before = []
        for message in item["conversation"]:
            if message["this_turn"]:
                break
            before.append(
                {"role": "user" if message["role"] == "user" else "assistant", "content": message["text"]}
            )
        turn = item["turn"]
        text, _ = exports.tests(
            [
                {
                    "turn_id": turn["id"],
                    "history": before,
                    "text": turn["text"],
                    "commands": turn["commands"],
                    "reviewed": True,
                    "review": _settled(item),
                }
            ]
        )
        return text

    def _reviewer_of(self, who: Principal, queue_id: str) -> dict[str, Any]:
        if not who.can(Permission.REVIEW):
            raise PermissionDenied("reviewing needs one of the roles reviewer, admin")
        with self.database.transaction() as c:
            queue = CollectionRepository(c, who.tenant).queue(queue_id)
        if queue is None or not (_assigned(queue, who) or who.can(Permission.CURATE)):
            raise NotFound(f"no review queue {queue_id}")
        return queue


def _item_and_queue(
    repo: CollectionRepository, item_id: int, allowed: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The item and its queue, or NotFound when either is missing or not the caller's to see."""
    item = repo.item(item_id)
    queue = repo.queue(item["queue_id"]) if item is not None else None
    if item is None or queue is None or not allowed(queue):
        raise NotFound(f"no review item {item_id}")
    return item, queue


def _may_read(queue: dict[str, Any], who: Principal) -> bool:
    """Curators read every queue; reviewers the queues assigned to them."""
    return who.can(Permission.CURATE) or (who.can(Permission.REVIEW) and _assigned(queue, who))


def _assigned(queue: dict[str, Any], who: Principal) -> bool:
    if who.id in (queue["assignees"] or []):
        return True
    role = queue["assignee_role"]
    return (bool(role) and role in who.roles) or (not queue["assignees"] and not role)


def _queue_out(queue: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": queue["id"],
        "name": queue["name"],
        "signals": queue["signals"],
        "sample_rate": queue["sample_rate"],
        "packs": queue["packs"],
        "assignees": queue["assignees"],
        "assignee_role": queue["assignee_role"],
        "guideline": queue["guideline"],
        "reviews_needed": queue["reviews_needed"],
    }


def _turn_out(turn: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": turn["id"],
        "conversation_id": turn["conversation_id"],
        "pack": turn["pack_id"],
        "text": turn["text"],
        "flow": turn["flow"],
        "commands": turn["commands"],
        "slots": turn["slots"],
        "tools": turn["tools"],
        "replies": turn["replies"],
        "signals": turn["signals"],
        "understood_by": turn["understood_by"],
    }


def _settled(item: dict[str, Any]) -> dict[str, Any]:
    answers = [r["answer"] for r in item["reviews"] if r["verdict"] != "skip"]
    _, answer = settle(answers, item["queue"]["reviews_needed"])
    return answer or {}
