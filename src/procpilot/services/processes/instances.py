"""``InstanceService``: process instances (one run of a flow) for people and systems.

A person sees the instances they started; approvers see the tenant's (they decide on them);
``read_all`` sees every instance. Starting one is a conversation that begins with that flow and
the given slot values; cancelling one cancels its flow and withdraws its open approval tasks.
"""

from __future__ import annotations

from typing import Any

from procpilot.domain.access import Permission, Principal
from procpilot.domain.commands import CancelFlow, Command, SetSlot, StartFlow
from procpilot.domain.errors import NotFound, PermissionDenied, StateConflict, UserError
from procpilot.domain.steps import END
from procpilot.services.conversations.chats import ChatService
from procpilot.services.conversations.messages import ConversationService, Reply
from procpilot.services.packs.catalog import PackCatalog
from procpilot.services.packs.diagrams import flow_svg
from procpilot.services.processes.readable import sentence
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.collection import CollectionRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database
from procpilot.storage.processes import ProcessRepository

# Events that belong on a timeline even when they name no flow (the person's words, replies).
_CONVERSATIONAL = ("bot.uttered", "command.received")


def _sees_all(principal: Principal) -> bool:
    """Reading every instance of the tenant is the auditor's (and the admin's)."""
    return principal.can(Permission.READ_ALL)


class InstanceService:
    def __init__(
        self, database: Database, catalog: PackCatalog, conversations: ConversationService, chats: ChatService
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.conversations = conversations
        self.chats = chats

    def flows(self, principal: Principal, pack_id: str) -> list[dict[str, Any]]:
        """The flows of a pack that the principal may start, with their slots."""
        pack = self.catalog.get(pack_id).loaded.pack
        return [
            {
                "id": flow.id,
                "name": flow.title,
                "description": flow.description,
                "may_start": flow.may_start(principal.roles),
                "slots": {name: {"type": slot.type} for name, slot in flow.slots.items()},
            }
            for flow in pack.user_flows()
        ]

    def _deciding(self, principal: Principal) -> set[str]:
        """Instances with an approval task the principal may decide (theirs or their roles')."""
        if not principal.can(Permission.APPROVE):
            return set()
        with self.database.transaction() as c:
            tasks = ProcessRepository(c, principal.tenant).approvals(
                assignee=principal.id, roles=principal.roles
            )
        return {str(t["instance_id"]) for t in tasks if t.get("instance_id")}

    def listing(self, principal: Principal, status: str | None = None) -> list[dict[str, Any]]:
        """The instances the principal may read: all for auditors and admins; their own and
        those of the tasks they may decide for approvers; their own for everyone else."""
        if _sees_all(principal):
            with self.database.transaction() as c:
                rows = ProcessRepository(c, principal.tenant).instances(status=status)
            return self._named(list(reversed(rows)), principal.tenant)
        deciding = self._deciding(principal)
        with self.database.transaction() as c:
            repo = ProcessRepository(c, principal.tenant)
            rows = (
                repo.instances(status=status)
                if deciding
                else repo.instances(user_id=principal.id, status=status)
            )
        mine = [r for r in reversed(rows) if r["user_id"] == principal.id or r["id"] in deciding]
        return self._named(mine, principal.tenant)

    def _named(self, rows: list[dict[str, Any]], tenant: str) -> list[dict[str, Any]]:
        """Each instance with its flow's title and the name of who started it."""
        people: dict[str, str] = {}
        with self.database.transaction() as c:
            accounts = AccountRepository(c)
            for user_id in {r["user_id"] for r in rows if r.get("user_id")}:
                people[user_id] = (accounts.user(tenant, user_id) or {}).get("display_name") or user_id
        out = []
        for row in rows:
            runtime = self.catalog.packs.get(row["pack_id"])
            flow = runtime.loaded.pack.flows.get(row["flow_id"]) if runtime else None
            out.append(
                {
                    **row,
                    "flow_title": flow.title if flow else row["flow_id"],
                    "started_by_name": people.get(row.get("user_id") or "", row.get("user_id") or "—"),
                }
            )
        return out

    def _instance(self, principal: Principal, instance_id: str) -> dict[str, Any]:
        with self.database.transaction() as c:
            found = ProcessRepository(c, principal.tenant).instance(instance_id)
        readable = found is not None and (
            _sees_all(principal)
            or found["user_id"] == principal.id
            or instance_id in self._deciding(principal)
        )
        if found is None or not readable:
            raise NotFound(f"no process instance {instance_id}")
        return found

    def timeline(self, principal: Principal, instance_id: str) -> dict[str, Any]:
        """Every step, slot, tool call, approval and message of one instance, with times."""
        instance = self._instance(principal, instance_id)
        frame = instance_id.split("/", 1)[1]
        with self.database.transaction() as c:
            events = ConversationRepository(c, principal.tenant).events(instance["conversation_id"])
            tasks = ProcessRepository(c, principal.tenant).approvals(instance_id=instance_id)
            ratings = CollectionRepository(c, principal.tenant).feedback_of(instance["conversation_id"])
        start = next(
            (
                i
                for i, e in enumerate(events)
                if e["kind"] == "flow.started" and e["data"].get("frame") == frame
            ),
            0,
        )
        end = next(
            (
                i
                for i, e in enumerate(events)
                if i >= start
                and e["kind"] in ("flow.completed", "flow.cancelled")
                and e["data"].get("frame") == frame
            ),
            len(events) - 1,
        )
        entries = []
        for event in events[start : end + 1]:
            data = event["data"] or {}
            ours = data.get("frame") == frame or data.get("flow") == instance["flow_id"]
            if ours or event["kind"] in _CONVERSATIONAL:
                entries.append(
                    {"id": event["id"], "at": event["created_at"], "kind": event["kind"], "data": data}
                )
        # People's ratings of the replies, in time order with the rest (while the instance ran).
        if entries:
            first, last = entries[0]["at"], entries[-1]["at"]
            for rating in ratings:
                if first <= rating["created_at"] and (end == len(events) - 1 or rating["created_at"] <= last):
                    entries.append(
                        {
                            "id": None,
                            "at": rating["created_at"],
                            "kind": "feedback.given",
                            "data": {
                                key: rating[key]
                                for key in ("message_id", "user_id", "rating", "reason", "comment")
                            },
                        }
                    )
            entries.sort(key=lambda e: e["at"])
        return self._readable({**instance, "approvals": tasks, "entries": entries}, principal.tenant)

    def _readable(self, instance: dict[str, Any], tenant: str) -> dict[str, Any]:
        """The names of people, the flow's title and a sentence for each entry (see ``readable``)."""
        pack = (
            self.catalog.packs[instance["pack_id"]].loaded.pack
            if instance["pack_id"] in self.catalog.packs
            else None
        )
        known: dict[str, str] = {}

        def name(user_id: str | None) -> str:
            if not user_id:
                return "—"
            if user_id not in known:
                with self.database.transaction() as c:
                    account = AccountRepository(c).user(tenant, user_id)
                known[user_id] = (account or {}).get("display_name") or user_id
            return known[user_id]

        flow = pack.flows.get(instance["flow_id"]) if pack else None
        ran = [e["data"].get("step") for e in instance["entries"] if e["kind"] == "step.started"]
        steps = [str(step) for step in ran if step]
        current = steps[-1] if steps and instance.get("status") == "running" else None
        diagram = (
            flow_svg(
                flow, frozenset(steps) | ({END} if instance.get("status") == "completed" else set()), current
            )
            if flow
            else ""
        )
        for entry in instance["entries"]:
            entry["said"] = sentence(entry, pack, instance["flow_id"], name)
        for task in instance["approvals"]:
            task["decided_by_name"] = name(task.get("decided_by")) if task.get("decided_by") else ""
        return {
            **instance,
            "flow_title": flow.title if flow else instance["flow_id"],
            "diagram": diagram,
            "started_by_name": name(instance.get("user_id")),
        }

    def start(
        self, principal: Principal, pack_id: str, flow_id: str, slots: dict[str, Any] | None = None
    ) -> Reply:
        """Start a flow in a new conversation, with slot values given up front."""
        pack = self.catalog.get(pack_id).loaded.pack
        flow = pack.flows.get(flow_id)
        if flow is None or flow.pattern:
            raise NotFound(f"no flow {flow_id!r} in pack {pack_id!r}")
        if not flow.may_start(principal.roles):
            raise PermissionDenied(f"flow {flow_id!r} may be started by {', '.join(flow.allowed_roles)} only")
        unknown = set(slots or {}) - set(flow.slots)
        if unknown:
            raise UserError(f"flow {flow_id!r} has no slot(s) {', '.join(sorted(unknown))}")
        commands: list[Command] = [StartFlow(flow_id)]
        commands += [SetSlot(name, value) for name, value in (slots or {}).items()]
        return self.chats.send(principal, text=f"(start {flow.title})", pack_id=pack_id, commands=commands)

    def cancel(self, principal: Principal, instance_id: str) -> dict[str, Any]:
        """Cancel a running instance: its owner or an admin. Open approval tasks are withdrawn."""
        instance = self._instance(principal, instance_id)
        if instance["user_id"] != principal.id and not principal.can(Permission.ADMINISTER):
            raise PermissionDenied("only the person who started it or an admin may cancel an instance")
        if instance["status"] != "running":
            raise StateConflict(f"instance {instance_id} has already {instance['status']}")
        frame = instance_id.split("/", 1)[1]
        self.conversations.handle(
            tenant=principal.tenant,
            pack_id=instance["pack_id"],
            conversation_id=instance["conversation_id"],
            text="(cancelled by an operator)" if instance["user_id"] != principal.id else "(cancel)",
            user_id=instance["user_id"],
            channel="api",
            commands=[CancelFlow(frame)],
        )
        with self.database.transaction() as c:
            repo = ProcessRepository(c, principal.tenant)
            for task in repo.approvals(instance_id=instance_id, status="pending"):
                repo.withdraw(task["id"], principal.id)
        return self._instance(principal, instance_id)
