"""``ApprovalService``: a person decides an approval task; the waiting flow goes on."""

from __future__ import annotations

from typing import Any

from procpilot.domain.errors import StateConflict, UserError
from procpilot.engine import ApprovalDecision
from procpilot.services.conversations import ConversationService, Reply
from procpilot.services.processes import ProcessService
from procpilot.storage.database import Database
from procpilot.storage.processes import ProcessRepository

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
        with self.database.transaction() as c:
            repo = ProcessRepository(c, tenant)
            task = repo.approval(approval_id)
            if task is None:
                raise UserError(f"no approval {approval_id}")
            if task["requester"] and task["requester"] == by:
                raise UserError("you cannot decide your own request (four-eyes rule)")
            if not repo.decide(approval_id, outcome, by, comment):
                raise StateConflict(f"approval {approval_id} was already decided ({task['status']})")
            conversation_id = task["conversation_id"]
        reply = self.conversations.resume_with(
            tenant=tenant,
            conversation_id=conversation_id,
            outcome=ApprovalDecision(approval_id, outcome, comment, by, text=text),
        )
        if self.processes is not None:
            self.processes.approval_decided(tenant, approval_id, outcome, by)
        return reply

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
        return self.conversations.resume_with(
            tenant=tenant,
            conversation_id=task["conversation_id"],
            outcome=ApprovalDecision(approval_id, TIMEOUT, "", "system"),
        )
