"""Repositories of data collection: turns, feedback, review queues, items and reviews, dataset
versions and their exports. Every query is scoped to one tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.database import aware
from procpilot.storage.tables import (
    conversations,
    dataset_exports,
    dataset_items,
    dataset_versions,
    feedback,
    messages,
    review_items,
    review_queues,
    reviews,
    turns,
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CollectionRepository:
    def __init__(self, connection: sa.Connection, tenant: str) -> None:
        self.c = connection
        self.tenant = tenant

    # --- turns ---

    def last_user_message(self, conversation_id: str) -> dict[str, Any] | None:
        row = self.c.execute(
            sa.select(messages.c.id, messages.c.text)
            .where(
                messages.c.tenant_id == self.tenant,
                messages.c.conversation_id == conversation_id,
                messages.c.role == "user",
            )
            .order_by(messages.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else {"id": row.id, "text": row.text}

    def bot_messages_after(self, conversation_id: str, message_id: int) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(messages.c.id, messages.c.text)
            .where(
                messages.c.tenant_id == self.tenant,
                messages.c.conversation_id == conversation_id,
                messages.c.role == "bot",
                messages.c.id > message_id,
            )
            .order_by(messages.c.id)
        )
        return [{"id": r.id, "text": r.text} for r in rows]

    def add_turn(self, **values: Any) -> int:
        result = self.c.execute(turns.insert().values(tenant_id=self.tenant, **values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def turn(self, turn_id: int) -> dict[str, Any] | None:
        row = (
            self.c.execute(sa.select(turns).where(turns.c.tenant_id == self.tenant, turns.c.id == turn_id))
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def turn_of_message(self, conversation_id: str, message_id: int) -> dict[str, Any] | None:
        """The turn whose replies hold this assistant message."""
        rows = self.c.execute(
            sa.select(turns)
            .where(turns.c.tenant_id == self.tenant, turns.c.conversation_id == conversation_id)
            .order_by(turns.c.id)
        ).mappings()
        for row in rows:
            if any(r.get("id") == message_id for r in row["replies"]):
                return dict(row)
        return None

    def find_turns(
        self,
        *,
        packs: list[str] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        turn_ids: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        query = sa.select(turns).where(turns.c.tenant_id == self.tenant)
        if packs:
            query = query.where(turns.c.pack_id.in_(packs))
        if since is not None:
            query = query.where(turns.c.created_at >= since)
        if until is not None:
            query = query.where(turns.c.created_at < until)
        if turn_ids is not None:
            query = query.where(turns.c.id.in_(turn_ids or [-1]))
        return [dict(r) for r in self.c.execute(query.order_by(turns.c.id)).mappings()]

    def conversation_owner(self, conversation_id: str) -> str | None:
        return self.c.execute(
            sa.select(conversations.c.user_id).where(
                conversations.c.tenant_id == self.tenant, conversations.c.id == conversation_id
            )
        ).scalar()

    # --- feedback ---

    def rate(self, **values: Any) -> None:
        key = (
            feedback.c.tenant_id == self.tenant,
            feedback.c.message_id == values["message_id"],
            feedback.c.user_id == values["user_id"],
        )
        if self.c.execute(sa.select(feedback.c.id).where(*key)).first() is None:
            self.c.execute(feedback.insert().values(tenant_id=self.tenant, **values))
        else:
            self.c.execute(feedback.update().where(*key).values(created_at=_now(), **values))

    def feedback_of(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(feedback)
            .where(feedback.c.tenant_id == self.tenant, feedback.c.conversation_id == conversation_id)
            .order_by(feedback.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def ratings_of_turns(self, turn_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        rows = self.c.execute(
            sa.select(feedback).where(
                feedback.c.tenant_id == self.tenant, feedback.c.turn_id.in_(turn_ids or [-1])
            )
        ).mappings()
        out: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(int(row["turn_id"]), []).append(dict(row))
        return out

    # --- queues ---

    def save_queue(self, queue_id: str, **values: Any) -> None:
        key = (review_queues.c.tenant_id == self.tenant, review_queues.c.id == queue_id)
        if self.c.execute(sa.select(review_queues.c.id).where(*key)).first() is None:
            self.c.execute(review_queues.insert().values(tenant_id=self.tenant, id=queue_id, **values))
        else:
            self.c.execute(review_queues.update().where(*key).values(**values))

    def queues(self) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(review_queues)
            .where(review_queues.c.tenant_id == self.tenant)
            .order_by(review_queues.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def queue(self, queue_id: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(review_queues).where(
                    review_queues.c.tenant_id == self.tenant, review_queues.c.id == queue_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    # --- items ---

    def enqueue(self, queue_id: str, turn_id: int, reasons: list[str]) -> bool:
        """Put a turn in a queue (once; a later reason is added to the item's)."""
        key = (
            review_items.c.tenant_id == self.tenant,
            review_items.c.queue_id == queue_id,
            review_items.c.turn_id == turn_id,
        )
        row = self.c.execute(sa.select(review_items.c.id, review_items.c.reasons).where(*key)).first()
        if row is None:
            self.c.execute(
                review_items.insert().values(
                    tenant_id=self.tenant, queue_id=queue_id, turn_id=turn_id, reasons=reasons
                )
            )
            return True
        merged = sorted(set(row.reasons) | set(reasons))
        if merged != sorted(row.reasons):
            self.c.execute(review_items.update().where(*key).values(reasons=merged))
        return False

    def item(self, item_id: int) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(review_items).where(
                    review_items.c.tenant_id == self.tenant, review_items.c.id == item_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        item = dict(row)
        item["lease_until"] = aware(item["lease_until"]) if item["lease_until"] else None
        return item

    def lease_next(self, queue_id: str, reviewer: str, seconds: float) -> int | None:
        """Lease the oldest open (or disputed) item the reviewer has not answered or skipped and
        nobody else holds; the update's condition makes two reviewers asking at once get
        different items."""
        now = _now()
        answered = sa.select(reviews.c.item_id).where(
            reviews.c.tenant_id == self.tenant, reviews.c.reviewer == reviewer
        )
        free = sa.or_(
            review_items.c.lease_holder.is_(None),
            review_items.c.lease_until < now,
            review_items.c.lease_holder == reviewer,
        )
        candidates = self.c.execute(
            sa.select(review_items.c.id)
            .where(
                review_items.c.tenant_id == self.tenant,
                review_items.c.queue_id == queue_id,
                review_items.c.status.in_(("open", "disputed")),
                review_items.c.id.not_in(answered),
                free,
            )
            .order_by((review_items.c.lease_holder == reviewer).desc(), review_items.c.id)
            .limit(20)
        ).scalars()
        for item_id in candidates:
            taken = self.c.execute(
                review_items.update()
                .where(review_items.c.tenant_id == self.tenant, review_items.c.id == item_id, free)
                .values(lease_holder=reviewer, lease_until=now + dt.timedelta(seconds=seconds))
            )
            if taken.rowcount == 1:
                return int(item_id)
        return None

    def release(self, item_id: int) -> None:
        self.c.execute(
            review_items.update()
            .where(review_items.c.tenant_id == self.tenant, review_items.c.id == item_id)
            .values(lease_holder=None, lease_until=None)
        )

    def set_status(self, item_id: int, status: str) -> None:
        self.c.execute(
            review_items.update()
            .where(review_items.c.tenant_id == self.tenant, review_items.c.id == item_id)
            .values(
                status=status,
                lease_holder=None,
                lease_until=None,
                done_at=_now() if status == "done" else None,
            )
        )

    def add_review(self, item_id: int, reviewer: str, verdict: str, answer: dict[str, Any]) -> None:
        self.c.execute(
            reviews.insert().values(
                tenant_id=self.tenant, item_id=item_id, reviewer=reviewer, verdict=verdict, answer=answer
            )
        )

    def reviews_of(self, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        rows = self.c.execute(
            sa.select(reviews)
            .where(reviews.c.tenant_id == self.tenant, reviews.c.item_id.in_(item_ids or [-1]))
            .order_by(reviews.c.id)
        ).mappings()
        out: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(int(row["item_id"]), []).append(dict(row))
        return out

    def items_of_turns(self, turn_ids: list[int]) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(review_items)
            .where(review_items.c.tenant_id == self.tenant, review_items.c.turn_id.in_(turn_ids or [-1]))
            .order_by(review_items.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def progress(self, queue_id: str) -> dict[str, Any]:
        counts: dict[Any, Any] = dict(
            self.c.execute(
                sa.select(review_items.c.status, sa.func.count())
                .where(review_items.c.tenant_id == self.tenant, review_items.c.queue_id == queue_id)
                .group_by(review_items.c.status)
            ).all()
        )
        by_reviewer: dict[Any, Any] = dict(
            self.c.execute(
                sa.select(reviews.c.reviewer, sa.func.count())
                .join(review_items, review_items.c.id == reviews.c.item_id)
                .where(
                    reviews.c.tenant_id == self.tenant,
                    review_items.c.queue_id == queue_id,
                    reviews.c.verdict != "skip",
                )
                .group_by(reviews.c.reviewer)
            ).all()
        )
        return {"items": {str(k): int(v) for k, v in counts.items()}, "reviews_by": by_reviewer}

    # --- datasets ---

    def latest_version(self, name: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(dataset_versions)
                .where(dataset_versions.c.tenant_id == self.tenant, dataset_versions.c.name == name)
                .order_by(dataset_versions.c.version.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def add_version(self, content: list[dict[str, Any]], **values: Any) -> None:
        self.c.execute(
            dataset_versions.insert().values(tenant_id=self.tenant, erased_conversations=[], **values)
        )
        if content:
            self.c.execute(
                dataset_items.insert(),
                [
                    {
                        "tenant_id": self.tenant,
                        "version_id": values["id"],
                        "position": n,
                        "conversation_id": item["conversation_id"],
                        "turn_id": item["turn_id"],
                        "item": item,
                    }
                    for n, item in enumerate(content)
                ],
            )

    def versions(self, name: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(dataset_versions).where(dataset_versions.c.tenant_id == self.tenant)
        if name:
            query = query.where(dataset_versions.c.name == name)
        rows = self.c.execute(query.order_by(dataset_versions.c.name, dataset_versions.c.version)).mappings()
        return [dict(r) for r in rows]

    def version(self, version_id: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(dataset_versions).where(
                    dataset_versions.c.tenant_id == self.tenant, dataset_versions.c.id == version_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def version_items(self, version_id: str) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(dataset_items.c.item)
            .where(dataset_items.c.tenant_id == self.tenant, dataset_items.c.version_id == version_id)
            .order_by(dataset_items.c.position)
        ).scalars()
        return [dict(r) for r in rows]

    def delete_version(self, version_id: str) -> None:
        self.c.execute(
            dataset_items.delete().where(
                dataset_items.c.tenant_id == self.tenant, dataset_items.c.version_id == version_id
            )
        )
        self.c.execute(
            dataset_versions.delete().where(
                dataset_versions.c.tenant_id == self.tenant, dataset_versions.c.id == version_id
            )
        )

    def versions_holding(self, conversation_id: str) -> list[str]:
        return list(
            self.c.execute(
                sa.select(dataset_items.c.version_id)
                .where(
                    dataset_items.c.tenant_id == self.tenant,
                    dataset_items.c.conversation_id == conversation_id,
                )
                .distinct()
            ).scalars()
        )

    def mark_erased(self, version_id: str, conversation_id: str) -> None:
        version = self.version(version_id)
        if version is None:
            return
        erased = sorted(set(version["erased_conversations"]) | {conversation_id})
        self.c.execute(
            dataset_versions.update()
            .where(dataset_versions.c.tenant_id == self.tenant, dataset_versions.c.id == version_id)
            .values(erased_conversations=erased)
        )

    def record_export(self, version_id: str, format: str, rows: int, by: str) -> None:
        self.c.execute(
            dataset_exports.insert().values(
                tenant_id=self.tenant, version_id=version_id, format=format, rows=rows, exported_by=by
            )
        )

    def exports(self, version_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(dataset_exports).where(dataset_exports.c.tenant_id == self.tenant)
        if version_id:
            query = query.where(dataset_exports.c.version_id == version_id)
        return [dict(r) for r in self.c.execute(query.order_by(dataset_exports.c.id)).mappings()]
