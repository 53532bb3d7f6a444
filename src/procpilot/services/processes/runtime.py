"""The in-process runtime: performs the engine's effects right away.

Each effect is preceded by a checkpoint of the conversation state (the caller's job), and tool
calls carry an idempotency key derived from tenant, conversation, frame and step visit, so a call
repeated after a crash does not repeat its side effect.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

import structlog

from procpilot.domain.durations import parse_duration
from procpilot.domain.flows import Pack
from procpilot.engine import (
    ApprovalHandle,
    ApprovalRequest,
    Effect,
    Generation,
    GenerationResult,
    Outcome,
    Timer,
    TimerStarted,
    ToolCall,
    ToolResult,
)
from procpilot.llm import ChatRequest, ModelError
from procpilot.llm.facts import keeps_facts, missing_facts
from procpilot.services.models.routing import ModelService
from procpilot.services.processes.durable import ProcessService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database
from procpilot.storage.processes import ProcessRepository
from procpilot.storage.timers import TimerRepository
from procpilot.tools.runner import ToolRunner

log = structlog.get_logger(__name__)


@dataclass
class EffectContext:
    tenant: str
    conversation_id: str
    user_id: str | None
    requester: str | None
    pack: Pack | None = None
    roles: tuple[str, ...] = ()


GENERATE_SYSTEM = (
    "You write short, friendly messages for an organisation's assistant. Rewrite the draft you are given "
    "so it reads well. Keep every name, number, date, amount and identifier exactly as written, and add "
    "no facts. Reply with the message only."
)


class InlineRuntime:
    """Performs effects synchronously in the calling process."""

    def __init__(
        self, database: Database, *, retry_base_seconds: float = 0.2, models: ModelService | None = None
    ) -> None:
        self.database = database
        self.retry_base_seconds = retry_base_seconds
        self.models = models
        self.processes: ProcessService | None = None  # set by the container: approval deadlines

    def perform(self, effect: Effect, runner: ToolRunner, ctx: EffectContext) -> Outcome:
        if isinstance(effect, ToolCall):
            return self._tool(effect, runner, ctx)
        if isinstance(effect, ApprovalRequest):
            return self._approval(effect, ctx)
        if isinstance(effect, Generation):
            return self._generate(effect, ctx)
        if isinstance(effect, Timer):
            return self._timer(effect, ctx)
        raise AssertionError(f"unknown effect {effect!r}")

    def _generate(self, effect: Generation, ctx: EffectContext) -> GenerationResult:
        """Model text for a generate step; the template itself when no model serves, or one fails."""
        fallback = GenerationResult(effect.frame_id, effect.step_id, effect.prompt)
        if self.models is None or ctx.pack is None:
            return fallback
        assignment = self.models.registry.assignment(ctx.tenant, ctx.pack, "generate")
        if assignment is None:
            return fallback
        system = GENERATE_SYSTEM + (f" Instructions: {effect.instructions}" if effect.instructions else "")
        request = ChatRequest.of(("system", system), ("user", effect.prompt))
        name = assignment.model.name
        try:
            text = self.models.call(
                assignment, request, tenant=ctx.tenant, conversation_id=ctx.conversation_id
            ).text
        except ModelError as error:
            return GenerationResult(effect.frame_id, effect.step_id, effect.prompt, name, str(error))
        text = text.strip()
        if not text or not keeps_facts(effect.prompt, text):
            problem = f"the text changed facts {missing_facts(effect.prompt, text)}" if text else "empty text"
            log.info("generate.rejected", model=name, problem=problem)
            return GenerationResult(effect.frame_id, effect.step_id, effect.prompt, name, problem)
        return GenerationResult(effect.frame_id, effect.step_id, text, name)

    def _tool(self, call: ToolCall, runner: ToolRunner, ctx: EffectContext) -> ToolResult:
        if call.attempt > 1:
            time.sleep(min(self.retry_base_seconds * 2 ** (call.attempt - 2), 5.0))
        key = f"{ctx.tenant}:{ctx.conversation_id}:{call.key}"
        started = time.perf_counter()
        outcome = runner.call(
            call.tool,
            call.args,
            tenant=ctx.tenant,
            conversation_id=ctx.conversation_id,
            user_id=ctx.user_id,
            idempotency_key=key,
            roles=ctx.roles,
        )
        duration = (time.perf_counter() - started) * 1000
        with self.database.transaction() as c:
            ConversationRepository(c, ctx.tenant).record_tool_call(
                ctx.conversation_id,
                flow_id=call.flow_id,
                step_id=call.step_id,
                tool=call.tool,
                args=call.args,
                key=key,
                attempt=call.attempt,
                status="ok" if outcome.ok else ("timeout" if outcome.timed_out else "error"),
                result=outcome.result if outcome.ok else None,
                error=outcome.detail or outcome.error or None,
                duration_ms=duration,
            )
        log.info(
            "tool.called", tool=call.tool, ok=outcome.ok, ms=round(duration, 1), replayed=outcome.replayed
        )
        return ToolResult(
            call.frame_id, call.step_id, outcome.ok, outcome.result, outcome.error, outcome.detail
        )

    def _approval(self, request: ApprovalRequest, ctx: EffectContext) -> ApprovalHandle:
        with self.database.transaction() as c:
            approval_id = ProcessRepository(c, ctx.tenant).create_approval(
                id=f"apr_{uuid.uuid4().hex[:12]}",
                conversation_id=ctx.conversation_id,
                instance_id=f"{ctx.conversation_id}/{request.frame_id}",
                flow_id=request.flow_id,
                step_id=request.step_id,
                key=f"{ctx.conversation_id}:{request.key}",
                kind=request.kind,
                role=request.role,
                assignee=request.assignee,
                requester=ctx.requester,
                summary=request.summary,
            )
            person = AccountRepository(c).user(ctx.tenant, request.assignee) if request.assignee else None
        if request.timeout and self.processes is not None:
            self.processes.watch_approval(ctx.tenant, approval_id, parse_duration(request.timeout))
        name = person["display_name"] if person and person["display_name"] else request.assignee
        label = name or (f"the {request.role} team" if request.role else "an approver")
        return ApprovalHandle(request.frame_id, request.step_id, approval_id, label)

    def _timer(self, timer: Timer, ctx: EffectContext) -> TimerStarted:
        """Store the timer (once per key) and, with a worker running, a process that fires it."""
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timer.seconds)
        with self.database.transaction() as c:
            stored = TimerRepository(c, ctx.tenant).create(
                id=f"tmr_{uuid.uuid4().hex[:12]}",
                conversation_id=ctx.conversation_id,
                frame_id=timer.frame_id,
                step_id=timer.step_id,
                key=f"{ctx.conversation_id}:{timer.key}",
                purpose=timer.purpose,
                due_at=due,
            )
        if self.processes is not None:
            self.processes.watch_timer(ctx.tenant, str(stored["id"]), stored["due_at"].timestamp())
        return TimerStarted(timer.frame_id, timer.step_id, stored["key"], stored["due_at"].isoformat())
