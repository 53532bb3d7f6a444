"""``ChatService``: conversations as people and systems reach them, with access checked.

A conversation belongs to the principal who started it. Its owner may continue and read it;
someone with ``read_all`` (admin, auditor) may read every conversation of the tenant. A
conversation of another person, or of another tenant, is "not found": the answer does not tell
whether it exists.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from procpilot.domain.access import Permission, Principal
from procpilot.domain.commands import Command
from procpilot.domain.errors import NotFound, StateConflict
from procpilot.services.conversations.messages import ConversationService, Reply
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.conversations import ConversationRecord, ConversationRepository
from procpilot.storage.database import Database
from procpilot.storage.handoffs import HandoffRepository
from procpilot.storage.processes import ProcessRepository


def chat_digest(pack: str, principal: Principal, messages: list[tuple[str, str]]) -> str:
    """A stable key for a chat whose client resends every message (OpenAI-compatible clients)."""
    text = json.dumps([pack, principal.id, messages], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class ChatService:
    def __init__(self, database: Database, conversations: ConversationService) -> None:
        self.database = database
        self.conversations = conversations

    def _record(self, principal: Principal, conversation_id: str, *, write: bool) -> ConversationRecord:
        with self.database.transaction() as c:
            record = ConversationRepository(c, principal.tenant).get(conversation_id)
        mine = record is not None and record.user_id == principal.id
        if record is None or not (mine or (not write and principal.can(Permission.READ_ALL))):
            raise NotFound(f"no conversation {conversation_id}")
        return record

    def send(
        self,
        principal: Principal,
        *,
        text: str,
        pack_id: str | None = None,
        conversation_id: str | None = None,
        channel: str = "api",
        commands: list[Command] | None = None,
    ) -> Reply:
        """One message from the principal: a new conversation (``pack_id``) or one of theirs."""
        principal.require(Permission.CONVERSE, "talking to an assistant")
        if conversation_id is not None:
            with self.database.transaction() as c:
                repo = ConversationRepository(c, principal.tenant)
                record = repo.get(conversation_id)
                taken = record is None and repo.taken(conversation_id)
            if record is None and pack_id is None:
                raise NotFound(f"no conversation {conversation_id}")
            if taken:
                raise StateConflict(f"conversation id {conversation_id!r} is taken; choose another")
            if record is not None:
                if record.user_id != principal.id:  # another person's: not found, as for reading
                    raise NotFound(f"no conversation {conversation_id}")
                pack_id = record.pack_id
        if pack_id is None:
            raise NotFound(f"no conversation {conversation_id}; a new conversation needs a pack")
        return self.conversations.handle(
            tenant=principal.tenant,
            pack_id=pack_id,
            conversation_id=conversation_id,
            text=text,
            user_id=principal.id,
            roles=principal.roles,
            channel=channel,
            commands=commands,
        )

    def require_readable(self, principal: Principal, conversation_id: str) -> None:
        """Raise NotFound unless the principal may read the conversation."""
        self._record(principal, conversation_id, write=False)

    def history(self, principal: Principal, conversation_id: str, after: int = 0) -> dict[str, Any]:
        record = self._record(principal, conversation_id, write=False)
        with self.database.transaction() as c:
            repo = ConversationRepository(c, principal.tenant)
            rows = repo.messages(conversation_id, after)
            (summary,) = repo.listing(ids=[conversation_id]) if after == 0 else [{}]
        return {
            "id": conversation_id,
            "title": summary.get("title", ""),
            "archived": bool(summary.get("archived", False)),
            "pack": record.pack_id,
            "user_id": record.user_id,
            "status": record.status,
            "active_flows": [f.get("flow_id") for f in (record.state.get("frames") or [])],
            "messages": [
                {
                    "id": m["id"],
                    "conversation": conversation_id,
                    "role": m["role"],
                    "text": m["text"],
                    "buttons": (m["data"] or {}).get("buttons", []),
                    "by_name": (m["data"] or {}).get("name"),  # an agent's name on their messages
                    "at": m["created_at"],
                }
                for m in rows
            ],
        }

    def waiting(self, principal: Principal, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's approval tasks that are still open (what its processes wait for)."""
        self._record(principal, conversation_id, write=False)
        with self.database.transaction() as c:
            return ProcessRepository(c, principal.tenant).approvals(
                conversation_id=conversation_id, status="pending"
            )

    def with_person(self, principal: Principal, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's open handoff, as its owner may see it: waiting, or taken by whom."""
        self._record(principal, conversation_id, write=False)
        with self.database.transaction() as c:
            found = HandoffRepository(c, principal.tenant).open_for(conversation_id)
            if found is None:
                return None
            agent = (
                AccountRepository(c).user(principal.tenant, found["taken_by"]) if found["taken_by"] else None
            )
        name = (agent or {}).get("display_name") or found["taken_by"]
        return {"status": found["status"], "taken_by_name": name}

    def events(self, principal: Principal, conversation_id: str) -> list[dict[str, Any]]:
        self._record(principal, conversation_id, write=False)
        return self.conversations.events(tenant=principal.tenant, conversation_id=conversation_id)

    def listing(
        self,
        principal: Principal,
        *,
        everyone: bool = False,
        limit: int = 100,
        search: str | None = None,
        archived: bool | None = False,
    ) -> list[dict[str, Any]]:
        """The principal's conversations (titled by their own name for it or the first request,
        with the last message as a preview); the tenant's with ``everyone`` (needs ``read_all``);
        ``search``: words in them; ``archived``: the archived ones, the others, or all (None)."""
        if everyone:
            principal.require(Permission.READ_ALL, "listing everyone's conversations")
        with self.database.transaction() as c:
            return ConversationRepository(c, principal.tenant).listing(
                None if everyone else principal.id,
                limit=limit,
                search=(search or "").strip()[:200] or None,
                archived=archived,
            )

    def rename(self, principal: Principal, conversation_id: str, title: str) -> None:
        """The owner names a conversation; an empty name brings back its first request."""
        self._record(principal, conversation_id, write=True)
        with self.database.transaction() as c:
            ConversationRepository(c, principal.tenant).rename(conversation_id, " ".join(title.split())[:200])

    def archive(self, principal: Principal, conversation_id: str, archived: bool = True) -> None:
        """The owner puts a conversation out of their list (or back); nothing is deleted."""
        self._record(principal, conversation_id, write=True)
        with self.database.transaction() as c:
            ConversationRepository(c, principal.tenant).archive(conversation_id, archived)

    # -- OpenAI-compatible chats: the client resends the whole chat every time ----------------

    def continue_chat(
        self,
        principal: Principal,
        *,
        pack_id: str,
        messages: list[tuple[str, str]],
        conversation_key: str | None = None,
    ) -> Reply:
        """Answer the last user message of a chat. The conversation is the one named by
        ``conversation_key`` (a header), else the one whose earlier messages match these. A chat
        client shows no buttons: the choices come numbered in the text (``written_text``), and a
        reply that is just a number picks that choice."""
        if conversation_key:
            # Conversation ids are global keys: the caller's tenant is part of the one a header names.
            caller = f"{principal.tenant}\0{principal.id}\0{conversation_key}"
            scoped = hashlib.sha256(caller.encode()).hexdigest()[:32]
            conversation = f"oa_{scoped}"
            return self.send(
                principal,
                text=self._pressed(principal, conversation, messages[-1][1]),
                pack_id=pack_id,
                conversation_id=conversation,
                channel="openai",
            )
        earlier = chat_digest(pack_id, principal, messages[:-1])
        with self.database.transaction() as c:
            known = (
                ConversationRepository(c, principal.tenant).by_digest(earlier) if len(messages) > 1 else None
            )
        text = self._pressed(principal, known, messages[-1][1]) if known else messages[-1][1]
        reply = self.send(principal, text=text, pack_id=pack_id, conversation_id=known, channel="openai")
        answer = ("assistant", written_text(reply))
        with self.database.transaction() as c:
            ConversationRepository(c, principal.tenant).remember_digest(
                chat_digest(pack_id, principal, [*messages, answer]), reply.conversation_id
            )
        return reply

    def _pressed(self, principal: Principal, conversation_id: str, text: str) -> str:
        """ "2" after a message with choices is the second choice's payload; any other text stays."""
        number = text.strip().rstrip(".)")
        if not number.isdigit():
            return text
        with self.database.transaction() as c:
            repo = ConversationRepository(c, principal.tenant)
            record = repo.get(conversation_id)
            if record is None:
                return text
            said = [m for m in repo.messages(conversation_id) if m["role"] == "bot"]
        buttons = ((said[-1]["data"] or {}).get("buttons") or []) if said else []
        index = int(number) - 1
        return str(buttons[index]["payload"]) if 0 <= index < len(buttons) else text


def written_text(reply: Reply) -> str:
    """The reply as a chat client without buttons shows it: each message's choices numbered."""
    parts = []
    for message in reply.messages:
        lines = [message["text"]]
        lines += [f"{n}. {button['title']}" for n, button in enumerate(message.get("buttons") or [], start=1)]
        parts.append("\n".join(lines))
    return "\n".join(parts)
