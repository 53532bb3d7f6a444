"""Durable timers of waiting flows (wait steps, delayed tool retries)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.database import aware
from procpilot.storage.tables import timers


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TimerRepository:
    """One tenant's timers."""

    def __init__(self, connection: sa.Connection, tenant_id: str) -> None:
        self.c = connection
        self.tenant = tenant_id

    def create(self, **values: Any) -> dict[str, Any]:
        """Store the timer unless one with this key exists; returns the stored one either way."""
        existing = self._one(timers.c.key == values["key"])
        if existing is not None:
            return existing
        self.c.execute(timers.insert().values(tenant_id=self.tenant, status="pending", **values))
        found = self._one(timers.c.key == values["key"])
        assert found is not None
        return found

    def get(self, timer_id: str) -> dict[str, Any] | None:
        return self._one(timers.c.id == timer_id)

    def pending(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(timers).where(timers.c.tenant_id == self.tenant, timers.c.status == "pending")
        if conversation_id:
            query = query.where(timers.c.conversation_id == conversation_id)
        rows = self.c.execute(query.order_by(timers.c.due_at)).mappings()
        return [{**r, "due_at": aware(r["due_at"])} for r in rows]

    def mark_fired(self, timer_id: str) -> bool:
        result = self.c.execute(
            timers.update()
            .where(timers.c.tenant_id == self.tenant, timers.c.id == timer_id, timers.c.status == "pending")
            .values(status="fired", fired_at=_now())
        )
        return result.rowcount == 1

    def _one(self, condition: Any) -> dict[str, Any] | None:
        row = (
            self.c.execute(sa.select(timers).where(timers.c.tenant_id == self.tenant, condition))
            .mappings()
            .first()
        )
        return {**row, "due_at": aware(row["due_at"])} if row else None


def overdue(connection: sa.Connection, late_seconds: float, limit: int = 100) -> list[tuple[str, str]]:
    """(tenant, timer) pairs still pending ``late_seconds`` after they fell due: nobody watched
    them (no worker ran when they were set). A system query across tenants, for workers."""
    cutoff = _now() - dt.timedelta(seconds=late_seconds)
    rows = connection.execute(
        sa.select(timers.c.tenant_id, timers.c.id)
        .where(timers.c.status == "pending", timers.c.due_at < cutoff)
        .order_by(timers.c.due_at)
        .limit(limit)
    )
    return [(tenant, timer) for tenant, timer in rows]
