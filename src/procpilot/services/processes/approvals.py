"""``ApprovalService``: a person decides an approval task; the waiting flow goes on."""

from __future__ import annotations

from typing import Any

import structlog

from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import NotFound, PermissionDenied, StateConflict, UserError
from procpilot.engine import ApprovalDecision
from procpilot.services.conversations.messages import ConversationService, Reply
from procpilot.services.processes.durable import ProcessService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.storage.processes import ProcessRepository, decided_unresumed

log = structlog.get_logger(__name__)

OUTCOMES = ("approved", "rejected", "changes_requested")
TIMEOUT = "timeout"


class ApprovalService:
    """Decisions on approval tasks, with the four-eyes rule: nobody decides their own request."""

    def __init__(
        self, database: Database, conversations: ConversationService, processes: ProcessService | None = None
    ) -> None:
        self.database = database
        self.conversations = conversations
        self.processes = processes

    def pending(self, tenant: str) -> list[dict[str, Any]]:
        with self.database.transaction() as c:
            return ProcessRepository(c, tenant).pending_approvals()

    def inbox(
        self, principal: Principal, status: str | None = "pending", everyone: bool = False
    ) -> list[dict[str, Any]]:
        """Tasks assigned to the principal or to one of their roles; the tenant's with ``everyone``
        (admins and auditors)."""
        if everyone:
            principal.require(Permission.READ_ALL, "listing every approval task")
        else:
            principal.require(Permission.APPROVE, "an approvals inbox")
        with self.database.transaction() as c:
            repo = ProcessRepository(c, principal.tenant)
            if everyone:
                tasks = repo.approvals(status=status)
            else:
                tasks = repo.approvals(status=status, assignee=principal.id, roles=principal.roles)
            return _named(c, principal.tenant, tasks)

    def task(self, principal: Principal, approval_id: str) -> dict[str, Any]:
        with self.database.transaction() as c:
            task = ProcessRepository(c, principal.tenant).approval(approval_id)
        if task is None or not (
            principal.can(Permission.READ_ALL)
            or self._assigned(principal, task)
            or task["requester"] == principal.id
        ):
            raise NotFound(f"no approval {approval_id}")
        return task

    @staticmethod
    def _assigned(principal: Principal, task: dict[str, Any]) -> bool:
        if task["assignee"]:
            return bool(task["assignee"] == principal.id)
        return task["role"] is None or task["role"] in principal.roles

    def decide_as(
        self, principal: Principal, approval_id: str, outcome: str, comment: str = "", text: str | None = None
    ) -> Reply:
        """A person's decision: the task must be theirs (or they are an admin), never their own request."""
        principal.require(Permission.APPROVE, "deciding approvals")
        task = self.task(principal, approval_id)
        if not (self._assigned(principal, task) or principal.can(Permission.ADMINISTER)):
            who = task["assignee"] or f"the {task['role']} role"
            raise PermissionDenied(f"approval {approval_id} is assigned to {who}")
        return self.decide(
            tenant=principal.tenant,
            approval_id=approval_id,
            outcome=outcome,
            by=principal.id,
            comment=comment,
            text=text,
        )

    def decide(
        self,
        *,
        tenant: str,
        approval_id: str,
        outcome: str,
        by: str,
        comment: str = "",
        text: str | None = None,
    ) -> Reply:
        """Decide a task. For a held draft (a review), ``text`` replaces the draft when approved."""
        if outcome not in OUTCOMES:
            raise UserError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if outcome == "changes_requested" and not comment.strip():
            # The requester is told what to change: a request for changes without it says nothing.
            raise UserError("asking for changes needs a comment that says what should change")
        with self.database.transaction() as c:
            repo = ProcessRepository(c, tenant)
            task = repo.approval(approval_id)
            if task is None:
                raise NotFound(f"no approval {approval_id}")
            if task["requester"] and task["requester"] == by:
                raise UserError("you cannot decide your own request (four-eyes rule)")
            if not repo.decide(approval_id, outcome, by, comment, text):
                raise StateConflict(f"approval {approval_id} was already decided ({task['status']})")
            conversation_id = task["conversation_id"]
        # The decision is stored; from here a crash is repaired by ``resume_decided`` (a worker
        # finds the task decided but not resumed), so the flow gets it exactly once.
        reply = self._resume(
            tenant,
            approval_id,
            conversation_id,
            ApprovalDecision(approval_id, outcome, comment, by, text=text),
        )
        return reply

    def _resume(
        self, tenant: str, approval_id: str, conversation_id: str, decision: ApprovalDecision
    ) -> Reply:
        """Give the flow its decision, then record that it has it. Resuming twice is harmless: a
        flow no longer waiting for this approval ignores it."""
        reply = self.conversations.resume_with(
            tenant=tenant, conversation_id=conversation_id, outcome=decision
        )
        with self.database.transaction() as c:
            ProcessRepository(c, tenant).mark_resumed(approval_id)
        if self.processes is not None and decision.outcome != TIMEOUT:
            # The process watching the deadline stops; an expiry is that process's own doing.
            self.processes.approval_decided(tenant, approval_id, decision.outcome, decision.by or "system")
        return reply

    def resume_decided(self, older_than_seconds: float) -> int:
        """Resume the flows of tasks decided (or expired) more than ``older_than_seconds`` ago that
        never got their decision: the deciding process died between storing and resuming."""
        with self.database.transaction() as c:
            found = decided_unresumed(c, older_than_seconds)
        resumed = 0
        for tenant, approval_id in found:
            with self.database.transaction() as c:
                task = ProcessRepository(c, tenant).approval(approval_id)
            if task is None:
                continue
            decision = ApprovalDecision(
                approval_id,
                task["status"],
                task["comment"] or "",
                task["decided_by"] or "system",
                text=task.get("decided_text"),
            )
            try:
                self._resume(tenant, approval_id, task["conversation_id"], decision)
            except StateConflict:
                continue  # the conversation is busy: the next sweep resumes it
            resumed += 1
            log.info(
                "approval.resumed_after_crash", tenant=tenant, approval=approval_id, outcome=task["status"]
            )
        return resumed

    def expire(self, *, tenant: str, approval_id: str) -> Reply | None:
        """The deadline passed: expire the task unless someone decided first, and resume its flow.

        Safe to repeat after a crash: the expiry is recorded once, and resuming a conversation that
        no longer waits for this approval changes nothing. None when a person decided first.
        """
        with self.database.transaction() as c:
            repo = ProcessRepository(c, tenant)
            repo.decide(approval_id, TIMEOUT, "system", "no decision before the deadline")
            task = repo.approval(approval_id)
        if task is None or task["status"] != TIMEOUT:
            return None
        return self._resume(
            tenant, approval_id, task["conversation_id"], ApprovalDecision(approval_id, TIMEOUT, "", "system")
        )


def _named(c: Any, tenant: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks with the display names of their requester, assignee and decider, where they have accounts."""
    names = {u["id"]: u["display_name"] or u["username"] for u in AccountRepository(c).users(tenant)}
    for task in tasks:
        for field in ("requester", "assignee", "decided_by"):
            task[f"{field}_name"] = names.get(task[field]) if task[field] else None
    return tasks
