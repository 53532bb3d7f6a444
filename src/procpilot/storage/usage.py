"""Model usage: one row per call; sums per conversation and per tenant."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import model_calls


class UsageRepository:
    """One tenant's model calls."""

    def __init__(self, connection: sa.Connection, tenant_id: str) -> None:
        self.c = connection
        self.tenant = tenant_id

    def record(self, **values: Any) -> None:
        self.c.execute(model_calls.insert().values(tenant_id=self.tenant, **values))

    def last_id(self) -> int:
        found = self.c.execute(
            sa.select(sa.func.max(model_calls.c.id)).where(model_calls.c.tenant_id == self.tenant)
        ).scalar()
        return int(found or 0)

    def totals(self, conversation_id: str | None = None, after_id: int = 0) -> dict[str, int]:
        query = sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(model_calls.c.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(model_calls.c.completion_tokens), 0),
        ).where(model_calls.c.tenant_id == self.tenant)
        if conversation_id is not None:
            query = query.where(model_calls.c.conversation_id == conversation_id)
        if after_id:
            query = query.where(model_calls.c.id > after_id)
        calls, prompt, completion = self.c.execute(query).one()
        return {"calls": int(calls), "prompt_tokens": int(prompt), "completion_tokens": int(completion)}
