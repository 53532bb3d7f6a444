"""``HandoffService``: the human agent's desk.

When the assistant hands a conversation to a person it joins a queue, with what the assistant
had understood. Someone with the ``agent`` role takes it (one agent per conversation), replies
in the person's chat as themselves, may start a flow for the person, and then hands it back to
the assistant or closes it. The person's messages meanwhile are kept for the agent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from procpilot.domain.access import Permission, Principal
from procpilot.domain.commands import StartFlow
from procpilot.domain.errors import NotFound, PermissionDenied, StateConflict, UserError
from procpilot.services.conversations.messages import ConversationService, Reply
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database
from procpilot.storage.handoffs import OPEN, HandoffRepository

MAX_REPLY_CHARS = 4000
# What the person reads; a pack's ``responses`` may word them its own way (``{name}``: the agent).
NOTICES = {
    "handoff_joined": "{name} from our team has taken over this conversation.",
    "handoff_returned": "{name} handed you back to the assistant. What else can I do for you?",
    "handoff_closed": "{name} closed this conversation. Thank you for writing.",
}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes for timezone columns; they are UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class HandoffService:
    def __init__(self, database: Database, conversations: ConversationService) -> None:
        self.database = database
        self.conversations = conversations

    # -- reading -----------------------------------------------------------------------------

    def queue(self, principal: Principal, statuses: tuple[str, ...] = OPEN) -> list[dict[str, Any]]:
        """Open handoffs, oldest first, each with the person's name, the conversation's first
        request and last message, and how long it has waited."""
        principal.require(Permission.ASSIST, "the agent's desk")
        now = dt.datetime.now(dt.UTC)
        with self.database.transaction() as c:
            rows = HandoffRepository(c, principal.tenant).listing(statuses)
            names = self._names(c, principal.tenant)
            summaries = {
                r["id"]: r
                for r in ConversationRepository(c, principal.tenant).listing(
                    ids=[row["conversation_id"] for row in rows]
                )
            }
        out = []
        for row in rows:
            item = self._public(row, names)
            summary = summaries.get(row["conversation_id"], {})
            item["title"] = summary.get("title", "")
            item["preview"] = summary.get("preview", "")
            requested = _aware(row["requested_at"])
            until = _aware(row["taken_at"]) or now
            item["waited_seconds"] = max(0.0, (until - requested).total_seconds()) if requested else 0.0
            out.append(item)
        return out

    def waiting(self, principal: Principal) -> int:
        """How many conversations wait for an agent (the desk's badge)."""
        principal.require(Permission.ASSIST, "the agent's desk")
        with self.database.transaction() as c:
            return HandoffRepository(c, principal.tenant).waiting()

    def view(self, principal: Principal, handoff_id: str, after: int = 0) -> dict[str, Any]:
        """One handoff with the conversation so far (messages after ``after``), what the
        assistant understood, and the flows an agent may start for the person."""
        principal.require(Permission.ASSIST, "the agent's desk")
        with self.database.transaction() as c:
            row = self._row(c, principal, handoff_id)
            names = self._names(c, principal.tenant)
            messages = ConversationRepository(c, principal.tenant).messages(row["conversation_id"], after)
        item = self._public(row, names)
        pack = self.conversations.catalog.get(row["pack_id"]).loaded.pack
        item["flows"] = [{"id": f.id, "title": f.title} for f in pack.user_flows() if f.examples]
        item["messages"] = [_message(m) for m in messages]
        return item

    def messages(self, principal: Principal, handoff_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The conversation's messages after ``after`` (what the agent's page polls for)."""
        principal.require(Permission.ASSIST, "the agent's desk")
        with self.database.transaction() as c:
            row = self._row(c, principal, handoff_id)
            found = ConversationRepository(c, principal.tenant).messages(row["conversation_id"], after)
        return [_message(m) for m in found]

    @staticmethod
    def _row(c: Any, principal: Principal, handoff_id: str) -> dict[str, Any]:
        row = HandoffRepository(c, principal.tenant).get(handoff_id)
        if row is None:
            raise NotFound(f"no handoff {handoff_id}")
        return row

    @staticmethod
    def _names(c: Any, tenant: str) -> dict[str, str]:
        return {u["id"]: u["display_name"] or u["username"] for u in AccountRepository(c).users(tenant)}

    @staticmethod
    def _public(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
        return {
            "id": row["id"],
            "conversation_id": row["conversation_id"],
            "pack": row["pack_id"],
            "person": row["user_id"],
            "person_name": names.get(row["user_id"] or "", row["user_id"] or ""),
            "reason": row["reason"],
            "understood": row["understood"] or {},
            "status": row["status"],
            "requested_at": row["requested_at"],
            "taken_by": row["taken_by"],
            "taken_by_name": names.get(row["taken_by"] or "", row["taken_by"]),
            "taken_at": row["taken_at"],
            "ended_at": row["ended_at"],
        }

    # -- acting ------------------------------------------------------------------------------

    def take(self, principal: Principal, handoff_id: str) -> dict[str, Any]:
        """Take a waiting conversation; the person is told a person has taken over."""
        principal.require(Permission.ASSIST, "taking a conversation")
        with self.database.transaction() as c:
            row = self._row(c, principal, handoff_id)
            if not HandoffRepository(c, principal.tenant).take(handoff_id, principal.id):
                who = row["taken_by"] or "nobody"
                raise StateConflict(f"handoff {handoff_id} is {row['status']} (taken by {who})")
            ConversationRepository(c, principal.tenant).add_message(
                row["conversation_id"],
                "agent",
                self._notice(row, "handoff_joined", principal),
                {"by": principal.id, "name": self._name(principal), "notice": "joined"},
            )
        return self.view(principal, handoff_id)

    def reply(self, principal: Principal, handoff_id: str, text: str) -> None:
        """The agent writes in the person's chat, as themselves."""
        text = text.strip()
        if not text:
            raise UserError("a reply needs some text")
        if len(text) > MAX_REPLY_CHARS:
            raise UserError(
                f"a reply may have at most {MAX_REPLY_CHARS} characters, this one has {len(text)}"
            )
        row = self._mine(principal, handoff_id)
        self.conversations.say(
            tenant=principal.tenant,
            conversation_id=row["conversation_id"],
            role="agent",
            text=text,
            data={"by": principal.id, "name": self._name(principal)},
        )

    def start_flow(self, principal: Principal, handoff_id: str, flow_id: str) -> Reply:
        """Start a flow for the person: the assistant takes the conversation back and asks the
        person what that flow needs, under the person's own roles."""
        row = self._mine(principal, handoff_id)
        pack = self.conversations.catalog.get(row["pack_id"]).loaded.pack
        flow = pack.flows.get(flow_id)
        if flow is None or flow.pattern:
            raise NotFound(f"no flow {flow_id} in pack {row['pack_id']}")
        self._end(principal, row, "returned", "")
        return self.conversations.on_behalf(
            tenant=principal.tenant, conversation_id=row["conversation_id"], commands=[StartFlow(flow_id)]
        )

    def hand_back(self, principal: Principal, handoff_id: str) -> None:
        row = self._mine(principal, handoff_id)
        self._end(principal, row, "returned", self._notice(row, "handoff_returned", principal))

    def close(self, principal: Principal, handoff_id: str) -> None:
        row = self._mine(principal, handoff_id)
        self._end(principal, row, "closed", self._notice(row, "handoff_closed", principal))

    def _end(self, principal: Principal, row: dict[str, Any], status: str, notice: str) -> None:
        with self.database.transaction() as c:
            if not HandoffRepository(c, principal.tenant).end(row["id"], status, principal.id):
                raise StateConflict(f"handoff {row['id']} has ended already")
        self.conversations.release(
            tenant=principal.tenant, conversation_id=row["conversation_id"], notice=notice
        )

    def _mine(self, principal: Principal, handoff_id: str) -> dict[str, Any]:
        """The handoff, taken by the principal (an admin may act on anyone's)."""
        principal.require(Permission.ASSIST, "answering a handed-off conversation")
        with self.database.transaction() as c:
            row = self._row(c, principal, handoff_id)
        if row["status"] != "taken":
            raise StateConflict(f"handoff {handoff_id} is {row['status']}; take it first")
        if row["taken_by"] != principal.id and not principal.can(Permission.ADMINISTER):
            raise PermissionDenied(f"handoff {handoff_id} was taken by someone else")
        return row

    def _notice(self, row: dict[str, Any], key: str, principal: Principal) -> str:
        responses = self.conversations.catalog.get(row["pack_id"]).loaded.pack.responses
        return responses.get(key, NOTICES[key]).replace("{name}", self._name(principal))

    @staticmethod
    def _name(principal: Principal) -> str:
        return principal.name or principal.id


def _message(m: dict[str, Any]) -> dict[str, Any]:
    data = m["data"] or {}
    return {
        "id": m["id"],
        "role": m["role"],
        "text": m["text"],
        "buttons": data.get("buttons", []),
        "by_name": data.get("name"),  # an agent's name on their messages
        "at": m["created_at"],
    }
