"""``DatasetService``: datasets built from a query into immutable, content-hashed versions of
redacted items, listed, compared, exported (each export recorded) and deleted.

An item is one turn: the conversation before it, the person's message, what the assistant made of
it (commands, slots, tool calls, reply), its ratings and, when reviewed, the answer the reviewers
settled. Everything in it is redacted before it is stored in the version, with pseudonyms that
hold across the conversation's items; names the conversation knows (the person's account, names
in tool results) are looked for as well. A redaction failure stops the build and names the turn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import NotFound, UserError
from procpilot.domain.identifiers import check_id
from procpilot.domain.review import settle
from procpilot.redaction import POLICY_VERSION, Pseudonyms, RedactionFailed
from procpilot.services.data import exports
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.collection import CollectionRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database

if TYPE_CHECKING:
    from procpilot.redaction.redactor import Redactor

QUERY_FIELDS = ("packs", "since", "until", "queues", "reviewed_only", "labels", "signals")
# Keys whose values are people's names (a bare "name" is as often a product's, and stays).
NAME_KEYS = ("first_name", "last_name", "full_name", "display_name", "given_name", "family_name",
             "customer_name", "employee_name", "recipient", "requester_name")  # fmt: skip


class DatasetService:
    def __init__(self, database: Database, redactor: Callable[[], Redactor]) -> None:
        self.database = database
        self._made: Redactor | None = None
        self._make = redactor

    @property
    def redactor(self) -> Redactor:
        if self._made is None:
            self._made = self._make()  # loads spaCy: only when a dataset is first built
        return self._made

    def build(self, who: Principal, name: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new version of dataset ``name`` from ``query``; the newest version when nothing changed."""
        who.require(Permission.CURATE, "building a dataset")
        check_id("dataset", name)
        query = _clean_query(query or {})
        with self.database.transaction() as c:
            raw = self._select(c, who.tenant, query)
        if not raw:
            raise UserError(f"the query matches no turns: {json.dumps(query, sort_keys=True)}")
        items = self._redacted(raw)
        digest = hashlib.sha256(
            json.dumps(
                {"policy": POLICY_VERSION, "items": items}, sort_keys=True, ensure_ascii=False
            ).encode()
        ).hexdigest()
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            latest = repo.latest_version(name)
            if latest is not None and latest["content_hash"] == digest:
                return {**_version_out(latest), "unchanged": True}
            number = (latest["version"] if latest else 0) + 1
            version_id = f"{name}@{number}-{uuid.uuid4().hex[:6]}"
            repo.add_version(
                items,
                id=version_id,
                name=name,
                version=number,
                content_hash=digest,
                query=query,
                policy_version=POLICY_VERSION,
                items=len(items),
                created_by=who.id,
            )
            made = repo.version(version_id)
        assert made is not None
        return {**_version_out(made), "unchanged": False}

    def _select(self, c: Any, tenant: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        repo = CollectionRepository(c, tenant)
        turns = repo.find_turns(
            packs=query.get("packs"),
            since=_time(query.get("since")),
            until=_time(query.get("until")),
        )
        ids = [t["id"] for t in turns]
        items = repo.items_of_turns(ids)
        answers = repo.reviews_of([i["id"] for i in items])
        queues = {q["id"]: q for q in repo.queues()}
        ratings = repo.ratings_of_turns(ids)
        conversations = ConversationRepository(c, tenant)
        accounts = AccountRepository(c)
        histories: dict[str, list[dict[str, Any]]] = {}
        owners: dict[str, str | None] = {}
        out = []
        for turn in turns:
            own = [i for i in items if i["turn_id"] == turn["id"]]
            if query.get("queues") and not any(i["queue_id"] in query["queues"] for i in own):
                continue
            if query.get("signals") and not set(query["signals"]) & set(turn["signals"]):
                continue
            settled = None
            for item in own:
                given = [r["answer"] for r in answers.get(item["id"], []) if r["verdict"] != "skip"]
                needed = queues[item["queue_id"]]["reviews_needed"] if item["queue_id"] in queues else 1
                status, answer = settle(given, needed)
                if status == "done" and answer is not None:
                    settled = answer
            if query.get("reviewed_only") and settled is None:
                continue
            if query.get("labels") and (settled or {}).get("intent", turn["flow"]) not in query["labels"]:
                continue
            cid = turn["conversation_id"]
            if cid not in histories:
                histories[cid] = conversations.messages(cid)
                owner = repo.conversation_owner(cid)
                account = accounts.user(tenant, owner) if owner else None
                owners[cid] = (account or {}).get("display_name") or None
            out.append(
                {
                    "turn": turn,
                    "history": [m for m in histories[cid] if m["id"] < turn["user_message_id"]],
                    "settled": settled,
                    "queues": sorted({i["queue_id"] for i in own}),
                    "review_items": [i["id"] for i in own],
                    "ratings": ratings.get(turn["id"], []),
                    "owner_name": owners[cid],
                }
            )
        return out

    def _redacted(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        pseudonyms: dict[str, Pseudonyms] = {}
        known: dict[str, list[str]] = {}
        for entry in raw:  # names a conversation knows, from all its turns
            cid = entry["turn"]["conversation_id"]
            names = known.setdefault(cid, [])
            if entry["owner_name"]:
                names.append(entry["owner_name"])
            names.extend(_names_in(entry["turn"]["tools"]))
            names.extend(_names_in(entry["turn"]["slots"]))
        items = []
        for entry in raw:
            turn = entry["turn"]
            cid = turn["conversation_id"]
            names = sorted(set(known[cid]))
            mask = pseudonyms.setdefault(cid, Pseudonyms())
            try:
                item = {
                    "conversation_id": cid,
                    "turn_id": turn["id"],
                    "pack": turn["pack_id"],
                    "history": [
                        {"role": "user" if m["role"] == "user" else "assistant", "content": m["text"]}
                        for m in entry["history"]
                        if m["role"] in ("user", "bot")
                    ],
                    "text": turn["text"],
                    "flow": turn["flow"],
                    "commands": turn["commands"],
                    "context": turn.get("context"),
                    "slots": turn["slots"],
                    "tools": turn["tools"],
                    "reply": "\n".join(r["text"] for r in turn["replies"]),
                    "signals": turn["signals"],
                    "queues": entry["queues"],
                    "reviewed": entry["settled"] is not None,
                    "review": entry["settled"],
                    "ratings": [
                        {"rating": r["rating"], "reason": r["reason"], "comment": r["comment"]}
                        for r in entry["ratings"]
                    ],
                    "source": {
                        "conversation_id": cid,
                        "turn_id": turn["id"],
                        "review_items": entry["review_items"],
                        "user_message_id": turn["user_message_id"],
                    },
                }
                # Ids that say where an item came from stay; everything people wrote is redacted.
                for key in (
                    "history",
                    "text",
                    "commands",
                    "context",
                    "slots",
                    "tools",
                    "reply",
                    "review",
                    "ratings",
                ):
                    item[key] = self.redactor.redact_value(item[key], mask, names)
            except RedactionFailed as error:
                raise RedactionFailed(f"turn {turn['id']} of conversation {cid}: {error}") from error
            items.append(item)
        return items

    def versions(self, who: Principal, name: str | None = None) -> list[dict[str, Any]]:
        who.require(Permission.CURATE, "listing datasets")
        with self.database.transaction() as c:
            return [_version_out(v) for v in CollectionRepository(c, who.tenant).versions(name)]

    def items(self, who: Principal, version_id: str) -> list[dict[str, Any]]:
        who.require(Permission.CURATE, "reading a dataset")
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            if repo.version(version_id) is None:
                raise NotFound(f"no dataset version {version_id}")
            return repo.version_items(version_id)

    def diff(self, who: Principal, old: str, new: str) -> dict[str, Any]:
        before = {(i["conversation_id"], i["turn_id"]): i for i in self.items(who, old)}
        after = {(i["conversation_id"], i["turn_id"]): i for i in self.items(who, new)}
        changed = [k for k in before.keys() & after.keys() if _canonical(before[k]) != _canonical(after[k])]
        return {
            "from": old,
            "to": new,
            "added": [
                {"conversation_id": k[0], "turn_id": k[1]} for k in sorted(after.keys() - before.keys())
            ],
            "removed": [
                {"conversation_id": k[0], "turn_id": k[1]} for k in sorted(before.keys() - after.keys())
            ],
            "changed": [{"conversation_id": k[0], "turn_id": k[1]} for k in sorted(changed)],
        }

    def delete(self, who: Principal, version_id: str) -> None:
        who.require(Permission.CURATE, "deleting a dataset version")
        with self.database.transaction() as c:
            repo = CollectionRepository(c, who.tenant)
            if repo.version(version_id) is None:
                raise NotFound(f"no dataset version {version_id}")
            repo.delete_version(version_id)

    def conversation_erased(self, tenant: str, conversation_id: str) -> list[str]:
        """Mark every version that holds the conversation (erasure must reach them); their ids."""
        with self.database.transaction() as c:
            repo = CollectionRepository(c, tenant)
            held = repo.versions_holding(conversation_id)
            for version_id in held:
                repo.mark_erased(version_id, conversation_id)
        return held

    def export(self, who: Principal, version_id: str, format: str) -> tuple[str, int]:
        """The version in an export format: (text, rows). The export is recorded."""
        who.require(Permission.CURATE, "exporting a dataset")
        if format not in exports.FORMATS:
            raise UserError(f"format must be one of {', '.join(exports.FORMATS)}")
        items = self.items(who, version_id)
        text, rows = exports.FORMATS[format](items)
        if rows == 0:
            raise UserError(f"dataset version {version_id} has nothing to export as {format}")
        with self.database.transaction() as c:
            CollectionRepository(c, who.tenant).record_export(version_id, format, rows, who.id)
        return text, rows

    def exports_of(self, who: Principal, version_id: str | None = None) -> list[dict[str, Any]]:
        who.require(Permission.CURATE, "listing exports")
        with self.database.transaction() as c:
            return [
                {**e, "created_at": e["created_at"].isoformat()}
                for e in CollectionRepository(c, who.tenant).exports(version_id)
            ]


def _clean_query(query: dict[str, Any]) -> dict[str, Any]:
    unknown = set(query) - set(QUERY_FIELDS)
    if unknown:
        raise UserError(
            f"unknown query field(s) {', '.join(sorted(unknown))}; known: {', '.join(QUERY_FIELDS)}"
        )
    for key in ("since", "until"):
        if query.get(key):
            _time(query[key])
    return {k: v for k, v in query.items() if v not in (None, "", [], False)}


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{value!r} is not a date or time (use 2026-12-01 or 2026-12-01T09:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _names_in(value: Any) -> list[str]:
    """Values of name-like keys anywhere in a JSON value (``{"name": {"first_name": "Noah"}}``)."""
    found: list[str] = []
    if isinstance(value, dict):
        parts = [str(value[k]) for k in ("first_name", "last_name") if isinstance(value.get(k), str)]
        if len(parts) == 2:
            found.append(" ".join(parts))
        for key, inner in value.items():
            if isinstance(inner, str) and key.lower() in NAME_KEYS:
                found.append(inner)
            else:
                found.extend(_names_in(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_names_in(inner))
    return [n for n in found if 2 <= len(n) <= 80]


def _canonical(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _version_out(version: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": version["id"],
        "name": version["name"],
        "version": version["version"],
        "content_hash": version["content_hash"],
        "query": version["query"],
        "policy_version": version["policy_version"],
        "items": version["items"],
        "created_by": version["created_by"],
        "created_at": version["created_at"].isoformat() if version["created_at"] else None,
        "erased_conversations": version["erased_conversations"],
    }
