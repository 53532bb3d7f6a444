"""``HandoffRepository``: conversations handed to a person, for one tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import conversations, handoffs

OPEN = ("waiting", "taken")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class HandoffRepository:
    def __init__(self, connection: sa.Connection, tenant_id: str) -> None:
        self.c = connection
        self.tenant = tenant_id

    def _select(self) -> sa.Select[Any]:
        return (
            sa.select(handoffs, conversations.c.user_id, conversations.c.pack_id)
            .join(conversations, conversations.c.id == handoffs.c.conversation_id)
            .where(handoffs.c.tenant_id == self.tenant)
        )

    def create(self, handoff_id: str, conversation_id: str, reason: str, understood: dict[str, Any]) -> None:
        self.c.execute(
            handoffs.insert().values(
                id=handoff_id,
                tenant_id=self.tenant,
                conversation_id=conversation_id,
                reason=reason,
                understood=understood,
                status="waiting",
                requested_at=_now(),
            )
        )

    def get(self, handoff_id: str) -> dict[str, Any] | None:
        row = self.c.execute(self._select().where(handoffs.c.id == handoff_id)).mappings().first()
        return dict(row) if row else None

    def open_for(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's handoff that no one has ended yet, if any."""
        row = (
            self.c.execute(
                self._select().where(
                    handoffs.c.conversation_id == conversation_id, handoffs.c.status.in_(OPEN)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def listing(self, statuses: tuple[str, ...] = OPEN, limit: int = 200) -> list[dict[str, Any]]:
        """Oldest first: the queue is served in the order people asked."""
        query = self._select().where(handoffs.c.status.in_(statuses)).order_by(handoffs.c.requested_at)
        return [dict(r) for r in self.c.execute(query.limit(limit)).mappings()]

    def waiting(self) -> int:
        found = self.c.execute(
            sa.select(sa.func.count()).where(
                handoffs.c.tenant_id == self.tenant, handoffs.c.status == "waiting"
            )
        ).scalar()
        return int(found or 0)

    def position(self, handoff_id: str, requested_at: dt.datetime) -> int:
        """1 for the first in the queue."""
        ahead = self.c.execute(
            sa.select(sa.func.count()).where(
                handoffs.c.tenant_id == self.tenant,
                handoffs.c.status == "waiting",
                handoffs.c.requested_at < requested_at,
                handoffs.c.id != handoff_id,
            )
        ).scalar()
        return int(ahead or 0) + 1

    def take(self, handoff_id: str, by: str) -> bool:
        """Waiting → taken by ``by``; False when someone else took it first."""
        result = self.c.execute(
            handoffs.update()
            .where(
                handoffs.c.tenant_id == self.tenant,
                handoffs.c.id == handoff_id,
                handoffs.c.status == "waiting",
            )
            .values(status="taken", taken_by=by, taken_at=_now())
        )
        return result.rowcount == 1

    def end(self, handoff_id: str, status: str, by: str) -> bool:
        """An open handoff ends (returned, closed, cancelled); False when it had ended already."""
        result = self.c.execute(
            handoffs.update()
            .where(
                handoffs.c.tenant_id == self.tenant,
                handoffs.c.id == handoff_id,
                handoffs.c.status.in_(OPEN),
            )
            .values(status=status, ended_by=by, ended_at=_now())
        )
        return result.rowcount == 1
