"""Conversations, their messages and their append-only events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from procpilot.domain.errors import StateConflict
from procpilot.storage.tables import conversation_keys, conversations, events, messages, tool_calls


@dataclass(frozen=True)
class ConversationRecord:
    id: str
    tenant_id: str
    pack_id: str
    user_id: str | None
    state: dict[str, Any]
    version: int
    status: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConversationRepository:
    """Reads and writes one tenant's conversations; every query is scoped to ``tenant_id``."""

    def __init__(self, connection: sa.Connection, tenant_id: str) -> None:
        self.c = connection
        self.tenant = tenant_id

    def get(self, conversation_id: str) -> ConversationRecord | None:
        row = (
            self.c.execute(
                sa.select(conversations).where(
                    conversations.c.tenant_id == self.tenant, conversations.c.id == conversation_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return ConversationRecord(
            row["id"],
            row["tenant_id"],
            row["pack_id"],
            row["user_id"],
            row["state"] or {},
            row["version"],
            row["status"],
        )

    def create(
        self, conversation_id: str, pack_id: str, user_id: str | None, channel: str
    ) -> ConversationRecord:
        self.c.execute(
            conversations.insert().values(
                id=conversation_id,
                tenant_id=self.tenant,
                pack_id=pack_id,
                user_id=user_id,
                channel=channel,
                state={},
                version=0,
                status="active",
            )
        )
        return ConversationRecord(conversation_id, self.tenant, pack_id, user_id, {}, 0, "active")

    def save_state(
        self, conversation_id: str, state: dict[str, Any], expected_version: int, status: str
    ) -> int:
        """Write the state if nobody else did since ``expected_version``; returns the new version."""
        result = self.c.execute(
            conversations.update()
            .where(
                conversations.c.tenant_id == self.tenant,
                conversations.c.id == conversation_id,
                conversations.c.version == expected_version,
            )
            .values(state=state, version=expected_version + 1, status=status, updated_at=_now())
        )
        if result.rowcount != 1:
            raise StateConflict(f"conversation {conversation_id} changed concurrently; try again")
        return expected_version + 1

    def add_message(
        self, conversation_id: str, role: str, text: str, data: dict[str, Any] | None = None
    ) -> None:
        self.c.execute(
            messages.insert().values(
                tenant_id=self.tenant, conversation_id=conversation_id, role=role, text=text, data=data or {}
            )
        )

    def add_events(self, conversation_id: str, items: list[dict[str, Any]]) -> None:
        if items:
            self.c.execute(
                events.insert(),
                [
                    {
                        "tenant_id": self.tenant,
                        "conversation_id": conversation_id,
                        "kind": e["kind"],
                        "data": e["data"],
                    }
                    for e in items
                ],
            )

    def messages(self, conversation_id: str, after: int = 0) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(messages.c.id, messages.c.role, messages.c.text, messages.c.data, messages.c.created_at)
            .where(
                messages.c.tenant_id == self.tenant,
                messages.c.conversation_id == conversation_id,
                messages.c.id > after,
            )
            .order_by(messages.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def taken(self, conversation_id: str) -> bool:
        """Whether any tenant has a conversation with this id (ids are global keys)."""
        found = self.c.execute(sa.select(conversations.c.id).where(conversations.c.id == conversation_id))
        return found.scalar() is not None

    def listing(
        self,
        user_id: str | None = None,
        limit: int = 100,
        search: str | None = None,
        *,
        ids: list[str] | None = None,
        archived: bool | None = None,
    ) -> list[dict[str, Any]]:
        """The tenant's conversations, newest first; only ``user_id``'s when given; only those with
        a message containing ``search`` (any case) when given; only ``ids`` when given; archived or
        not when ``archived`` is given. Each with its ``title`` (the name its owner gave it, else
        the first thing the person wrote) and ``preview`` (the last message)."""
        query = sa.select(
            conversations.c.id,
            conversations.c.pack_id,
            conversations.c.user_id,
            conversations.c.channel,
            conversations.c.status,
            conversations.c.created_at,
            conversations.c.updated_at,
            conversations.c.title.label("named"),
            conversations.c.archived,
        ).where(conversations.c.tenant_id == self.tenant)
        if user_id is not None:
            query = query.where(conversations.c.user_id == user_id)
        if ids is not None:
            query = query.where(conversations.c.id.in_(ids))
        if archived is not None:
            query = query.where(conversations.c.archived == archived)
        if search:
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                sa.exists().where(
                    messages.c.tenant_id == self.tenant,
                    messages.c.conversation_id == conversations.c.id,
                    sa.func.lower(messages.c.text).like(pattern, escape="\\"),
                )
            )
        rows = [
            dict(r)
            for r in self.c.execute(query.order_by(conversations.c.updated_at.desc()).limit(limit)).mappings()
        ]
        ids = [r["id"] for r in rows]
        if not ids:
            return rows
        ends = self.c.execute(
            sa.select(
                messages.c.conversation_id,
                sa.func.min(sa.case((messages.c.role == "user", messages.c.id))),
                sa.func.max(messages.c.id),
            )
            .where(messages.c.tenant_id == self.tenant, messages.c.conversation_id.in_(ids))
            .group_by(messages.c.conversation_id)
        ).all()
        wanted = {i for _, first, last in ends for i in (first, last) if i is not None}
        texts = (
            dict(
                self.c.execute(
                    sa.select(messages.c.id, messages.c.text).where(messages.c.id.in_(wanted))
                ).all()
            )
            if wanted
            else {}
        )
        by_conversation = {cid: (texts.get(first), texts.get(last)) for cid, first, last in ends}
        for row in rows:
            first, last = by_conversation.get(row["id"], (None, None))
            row["title"] = row.pop("named") or first or ""
            row["preview"] = last or ""
        return rows

    def rename(self, conversation_id: str, title: str | None) -> None:
        self.c.execute(
            conversations.update()
            .where(conversations.c.tenant_id == self.tenant, conversations.c.id == conversation_id)
            .values(title=title or None)
        )

    def archive(self, conversation_id: str, archived: bool) -> None:
        self.c.execute(
            conversations.update()
            .where(conversations.c.tenant_id == self.tenant, conversations.c.id == conversation_id)
            .values(archived=archived)
        )

    def by_digest(self, digest: str) -> str | None:
        found = self.c.execute(
            sa.select(conversation_keys.c.conversation_id).where(
                conversation_keys.c.tenant_id == self.tenant, conversation_keys.c.digest == digest
            )
        ).scalar()
        return str(found) if found else None

    def remember_digest(self, digest: str, conversation_id: str) -> None:
        if self.by_digest(digest) is None:
            self.c.execute(
                conversation_keys.insert().values(
                    tenant_id=self.tenant, digest=digest, conversation_id=conversation_id
                )
            )

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(events.c.id, events.c.kind, events.c.data, events.c.created_at)
            .where(events.c.tenant_id == self.tenant, events.c.conversation_id == conversation_id)
            .order_by(events.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def record_tool_call(self, conversation_id: str, **values: Any) -> None:
        self.c.execute(
            tool_calls.insert().values(tenant_id=self.tenant, conversation_id=conversation_id, **values)
        )

    def tool_calls(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(tool_calls)
            .where(tool_calls.c.tenant_id == self.tenant, tool_calls.c.conversation_id == conversation_id)
            .order_by(tool_calls.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def stalled(connection: sa.Connection, seconds: float, limit: int = 100) -> list[tuple[str, str]]:
    """(tenant, conversation) pairs left "working" for longer than ``seconds``: their process died
    during an effect. A system query across tenants, for workers."""
    cutoff = _now() - dt.timedelta(seconds=seconds)
    rows = connection.execute(
        sa.select(conversations.c.tenant_id, conversations.c.id)
        .where(conversations.c.status == "working", conversations.c.updated_at < cutoff)
        .order_by(conversations.c.updated_at)
        .limit(limit)
    )
    return [(tenant, conversation) for tenant, conversation in rows]
