"""``TimerService``: durable timers that wake waiting flows (wait steps, delayed tool retries).

A timer is a row (what is waiting, and until when) plus, when a worker runs, a process on the
process engine that sleeps until it is due and then fires it. Firing feeds ``TimerFired`` into the
conversation: the engine ignores a timer its flow no longer waits for, so firing twice (a replay
after a crash, a worker's safety scan racing the process) changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt

import structlog

from procpilot.domain.errors import StateConflict
from procpilot.engine import TimerFired
from procpilot.services.conversations.messages import ConversationService, Reply
from procpilot.storage.database import Database
from procpilot.storage.timers import TimerRepository, overdue

log = structlog.get_logger(__name__)

ATTEMPTS = 5


class TimerService:
    def __init__(self, database: Database, conversations: ConversationService) -> None:
        self.database = database
        self.conversations = conversations

    def pending(self, tenant: str, conversation_id: str | None = None) -> list[dict[str, object]]:
        with self.database.transaction() as c:
            return TimerRepository(c, tenant).pending(conversation_id)

    def fire(self, tenant: str, timer_id: str) -> Reply | None:
        """Wake the flow waiting on the timer; None when it had fired already."""
        with self.database.transaction() as c:
            timer = TimerRepository(c, tenant).get(timer_id)
        if timer is None or timer["status"] != "pending":
            return None
        outcome = TimerFired(timer["frame_id"], timer["step_id"], timer["key"])
        reply = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self.conversations.resume_with(
                    tenant=tenant, conversation_id=timer["conversation_id"], outcome=outcome
                )
                break
            except StateConflict:  # the person wrote at the same moment: read the state again
                if attempt == ATTEMPTS:
                    raise
        with self.database.transaction() as c:
            TimerRepository(c, tenant).mark_fired(timer_id)
        log.info("timer.fired", tenant=tenant, timer=timer_id, purpose=timer["purpose"])
        return reply

    def elapse(self, tenant: str, conversation_id: str) -> list[Reply]:
        """Fire the conversation's pending timers now, as if their time had passed (pack tests)."""
        replies = []
        for timer in self.pending(tenant, conversation_id):
            reply = self.fire(tenant, str(timer["id"]))
            if reply is not None:
                replies.append(reply)
        return replies

    def fire_overdue(self, late_seconds: float) -> int:
        """Fire timers nobody watched (set while no worker ran) once they are ``late_seconds`` late."""
        with self.database.transaction() as c:
            found = overdue(c, late_seconds)
        for tenant, timer_id in found:
            try:
                self.fire(tenant, timer_id)
            except StateConflict:
                continue
        return len(found)


def due_at(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
