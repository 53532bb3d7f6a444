"""Durable processes around conversations: approval deadlines and webhook notifications.

    approval_watch  waits for the approval's decision; when its time-out passes first (also while
                    every process was down: the deadline is durable), the approval expires, the
                    waiting flow takes its ``on_timeout`` branch and the requester is told in their
                    conversation.
    timer_watch     sleeps until a timer (a wait step, a delayed tool retry) is due and fires it.
    scheduled_flow  one run of a pack's scheduled flow, started once per schedule and time.
    notify          posts an event to the configured webhook, retried with back-off.

Both run on the process engine (DBOS) once a worker has started it (``procpilot worker`` or
``procpilot serve``). Without one, deadlines do not fire and webhooks are posted in line, once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import structlog

from procpilot.engine.processes import ProcessContext, ProcessEngine, Registry

log = structlog.get_logger(__name__)

TIMEOUT = "timeout"


def approval_key(tenant: str, approval_id: str) -> str:
    return f"approval:{tenant}:{approval_id}"


def approval_watch(
    ctx: ProcessContext, tenant: str, approval_id: str, due: float, webhook_url: str | None = None
) -> str:
    """``due``: the deadline as a Unix time, fixed when the approval was created, so a process that
    is recovered late (its worker died before it started waiting) still expires on time."""
    ctx.publish("waiting")
    decision = None
    while decision is None:
        remaining = ctx.step("clock.until", due)  # recorded: a replay sees the same answer
        if remaining <= 0:
            break
        decision = ctx.wait("decided", remaining)
    if decision is None:
        outcome = ctx.step("approval.expire", tenant, approval_id)
        if outcome != TIMEOUT:  # a decision was stored just before the deadline: it stands
            ctx.publish("decided")
            return str(outcome)
        if webhook_url:
            event = {"event": "approval.expired", "tenant": tenant, "approval_id": approval_id}
            ctx.step("webhook.post", webhook_url, {**event, "outcome": TIMEOUT, "by": None})
        ctx.publish("timed out")
        return TIMEOUT
    ctx.publish("decided")
    return str(decision)


def timer_watch(ctx: ProcessContext, tenant: str, timer_id: str, due: float) -> str:
    """Sleep until ``due`` (a Unix time; durable: a restart sleeps only what is left), then fire."""
    ctx.publish("waiting")
    while (remaining := ctx.step("clock.until", due)) > 0:
        ctx.sleep(remaining)
    ctx.step("timer.fire", tenant, timer_id)
    ctx.publish("fired")
    return "fired"


def scheduled_flow(ctx: ProcessContext, tenant: str, pack_id: str, flow: str, at: str) -> str:
    """One run of a scheduled flow (see ``procpilot.services.processes.schedules``)."""
    return str(ctx.step("schedule.run", tenant, pack_id, flow, at))


def notify(ctx: ProcessContext, url: str, event: dict[str, Any]) -> str:
    ctx.step("webhook.post", url, event)
    return "sent"


class ProcessService:
    """Starts and signals processes; the bodies above run on ``engine`` once one is attached."""

    def __init__(self, *, webhook_url: str | None = None) -> None:
        self.webhook_url = webhook_url
        self.engine: ProcessEngine | None = None
        self.approvals: Any = None  # the ApprovalService, set by the container
        self.timers: Any = None  # the TimerService, set by the container
        self.schedules: Any = None  # the ScheduleService, set by the container

    def register(self, registry: Registry) -> None:
        registry.process("approval_watch", approval_watch)
        registry.process("notify", notify)
        registry.process("timer_watch", timer_watch)
        registry.step("timer.fire", self.fire_timer)
        registry.process("scheduled_flow", scheduled_flow)
        registry.step("schedule.run", self.run_scheduled)
        registry.step("approval.expire", self.expire_approval)
        registry.step("webhook.post", post_webhook, retried=True)
        registry.step("clock.until", seconds_until)

    def attach(self, engine: ProcessEngine) -> None:
        self.engine = engine

    # -- called by the conversation runtime and the approval service ----------------------------

    def watch_approval(self, tenant: str, approval_id: str, seconds: float) -> None:
        if self.engine is None:
            log.warning("approval.deadline_not_watched", approval=approval_id, reason="no worker is running")
            return
        self.engine.start(
            "approval_watch",
            approval_key(tenant, approval_id),
            tenant=tenant,
            approval_id=approval_id,
            due=time.time() + seconds,
            webhook_url=self.webhook_url,
        )

    def watch_timer(self, tenant: str, timer_id: str, due: float) -> None:
        if self.engine is None:
            log.info(
                "timer.not_watched", timer=timer_id, reason="no worker is running; a worker fires it late"
            )
            return
        self.engine.start(
            "timer_watch", f"timer:{tenant}:{timer_id}", tenant=tenant, timer_id=timer_id, due=due
        )

    def start_scheduled(self, key: str, tenant: str, pack_id: str, flow: str, at: str) -> None:
        if self.engine is None:
            raise RuntimeError("scheduled flows run on a worker: start one with `procpilot worker`")
        self.engine.start("scheduled_flow", key, tenant=tenant, pack_id=pack_id, flow=flow, at=at)

    def approval_decided(self, tenant: str, approval_id: str, outcome: str, by: str | None) -> None:
        """Stop the approval's deadline (if it has one) and tell the webhook.

        The watch is signalled whenever it is unfinished, also before it has started waiting: the
        message is stored and its ``wait`` receives it (checking for "waiting" lost a decision
        taken right after the approval was created).
        """
        key = approval_key(tenant, approval_id)
        if self.engine is not None and self.engine.outcome(key) in ("PENDING", "ENQUEUED"):
            self.engine.signal(key, "decided", outcome)
        self.send_event(
            {
                "event": "approval.decided",
                "tenant": tenant,
                "approval_id": approval_id,
                "outcome": outcome,
                "by": by,
            }
        )

    def send_event(self, event: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        if self.engine is not None:
            self.engine.start("notify", f"notify:{uuid.uuid4().hex}", url=self.webhook_url, event=event)
            return
        try:
            post_webhook(self.webhook_url, event)
        except Exception as error:  # in line and without a worker: logged, never fatal to the caller
            log.warning("webhook.failed", url=self.webhook_url, error=str(error))

    # -- steps ----------------------------------------------------------------------------------

    def expire_approval(self, tenant: str, approval_id: str) -> str:
        """Step: the deadline passed (see ``ApprovalService.expire``)."""
        assert self.approvals is not None, "the container sets the approval service"
        if self.approvals.expire(tenant=tenant, approval_id=approval_id) is None:
            return "decided before the deadline"
        log.info("approval.expired", tenant=tenant, approval=approval_id)
        return TIMEOUT

    def fire_timer(self, tenant: str, timer_id: str) -> str:
        """Step: the timer is due (see ``TimerService.fire``)."""
        assert self.timers is not None, "the container sets the timer service"
        return "fired" if self.timers.fire(tenant, timer_id) is not None else "fired before"

    def run_scheduled(self, tenant: str, pack_id: str, flow: str, at: str) -> str:
        assert self.schedules is not None, "the container sets the schedule service"
        return str(self.schedules.run(tenant, pack_id, flow, at))


def seconds_until(due: float) -> float:
    return due - time.time()


def post_webhook(url: str, event: dict[str, Any]) -> int:
    """POST the event as JSON; any answer other than 2xx raises (and the step is retried)."""
    response = httpx.post(url, json=event, timeout=10.0)
    response.raise_for_status()
    return response.status_code
