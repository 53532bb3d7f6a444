"""``ConversationService``: one message in, the assistant's replies out."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog

from procpilot.domain.commands import Command
from procpilot.domain.errors import UserError
from procpilot.domain.events import Event
from procpilot.domain.state import DialogueState
from procpilot.engine import ApprovalDecision, DialogueEngine, Outcome, TimerFired, Turn
from procpilot.engine.templates import Renderer
from procpilot.llm import ChatRequest, ChatResponse, ModelError
from procpilot.llm.facts import keeps_facts, missing_facts
from procpilot.services.conversations.understood import understood
from procpilot.services.data.collection import CollectionService
from procpilot.services.knowledge import KnowledgeService, knowledge_tool
from procpilot.services.models.routing import ModelService
from procpilot.services.packs.catalog import PackCatalog, PackRuntime, Workspace
from procpilot.services.processes.runtime import EffectContext, InlineRuntime
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.conversations import ConversationRecord, ConversationRepository
from procpilot.storage.database import Database
from procpilot.storage.handoffs import HandoffRepository
from procpilot.storage.processes import ProcessRepository
from procpilot.storage.snapshots import SnapshotRepository
from procpilot.tools.runner import ToolRunner
from procpilot.understanding.llm_commands import HybridUnderstanding, LLMCommandGenerator, command_context
from procpilot.understanding.rules import cancels

log = structlog.get_logger(__name__)

MAX_EFFECTS_PER_MESSAGE = 50
KNOWLEDGE_FLOW = "pattern_knowledge"
QUOTED = "(answered the question from the organisation's documents)"
MAX_MESSAGE_CHARS = 4000
HANDOFF_QUEUED = (
    "You are number {{ place }} in the queue for a person, who will answer here. "
    'Write "cancel" to go back to the assistant.'
)
HANDOFF_LEFT = "Okay, you're back with the assistant. What can I do for you?"
REPHRASE_SYSTEM = (
    "Rephrase the assistant message you are given so it sounds natural and friendly. Keep every name, "
    "number, amount, date and identifier exactly as written; do not add information. Reply with the "
    "rephrased message only."
)


@dataclass
class Reply:
    """What one message produced."""

    conversation_id: str
    messages: list[dict[str, Any]]
    commands: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    active_flows: list[str] = field(default_factory=list)
    handed_off: bool = False
    understanding_seconds: float = 0.0  # how long turning the message into commands took
    understood_by: str = "rules"  # "model" when the LLM command generator's commands were used

    @property
    def text(self) -> str:
        return "\n".join(m["text"] for m in self.messages)


class ConversationService:
    """Runs conversations: understanding, engine, effects, and the record of it all."""

    def __init__(
        self,
        database: Database,
        catalog: PackCatalog,
        workspace: Workspace,
        runtime: InlineRuntime,
        secrets: dict[str, str],
        models: ModelService | None = None,
        knowledge: KnowledgeService | None = None,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.workspace = workspace
        self.runtime = runtime
        self.secrets = secrets
        self.models = models
        self.knowledge = knowledge or KnowledgeService(database, catalog.encoder, models)
        self.collection: CollectionService | None = None  # records each turn for review and training

    def runner(self, tenant: str, pack: PackRuntime) -> ToolRunner:
        runner = pack.runners.get(tenant)
        if runner is None:
            tools = {**pack.tools, "search_knowledge": knowledge_tool(self.knowledge, pack.loaded.pack)}
            runner = ToolRunner(
                tools=tools,
                database=self.workspace.business_db(tenant, pack),
                secrets=self.secrets,
                default_timeout=pack.loaded.pack.settings.tool_timeout,
            )
            pack.runners[tenant] = runner
        return runner

    def handle(
        self,
        *,
        tenant: str,
        pack_id: str,
        conversation_id: str | None,
        text: str,
        user_id: str | None = None,
        roles: tuple[str, ...] | list[str] = (),
        channel: str = "api",
        commands: list[Command] | None = None,
    ) -> Reply:
        """Handle one message. ``commands`` skips understanding (tests and button payloads)."""
        if len(text) > MAX_MESSAGE_CHARS:
            raise UserError(
                f"a message may have at most {MAX_MESSAGE_CHARS} characters, this one has {len(text)}"
            )
        pack = self.catalog.get(pack_id)
        conversation_id = conversation_id or f"c_{uuid.uuid4().hex}"
        with self.database.transaction() as c:
            if not AccountRepository(c).tenant_exists(tenant):
                raise UserError(f"no tenant {tenant!r}")
            repo = ConversationRepository(c, tenant)
            record = repo.get(conversation_id)
            if record is None:
                record = repo.create(conversation_id, pack_id, user_id, channel)
            elif record.pack_id != pack_id:
                raise UserError(
                    f"conversation {conversation_id} belongs to pack {record.pack_id!r}, not {pack_id!r}"
                )
            held = HandoffRepository(c, tenant).open_for(conversation_id)
        if held is not None:
            # With a person now: the message is theirs to answer, not the assistant's.
            return self._held(tenant, pack, record, held, text)
        state = DialogueState.from_dict(record.state)
        state.roles = list(roles)
        state.caller = user_id
        pack = self._version(pack, state)
        version = record.version
        ctx = EffectContext(
            tenant, conversation_id, user_id, requester=user_id, pack=pack.loaded.pack, roles=tuple(roles)
        )
        engine = pack.engine
        events: list[Event] = []
        # Finish an effect that a crash left outstanding before reading the new message.
        pending = engine.pending_effect(state)
        if pending is not None:
            log.info("conversation.recovering", conversation=conversation_id, effect=type(pending).__name__)
            turn = Turn(state, [], pending)
            state, version = self._drive(turn, pack, ctx, version, events)
        understanding_seconds = 0.0
        understood_by = "rules"
        model_fallback = False
        understood_here = commands is None  # not a button's payload, nor commands given by a test
        expectation = engine.expectation(state)  # read once: for understanding and for the record
        context = command_context(expectation) if self.collection is not None else None
        if commands is None:
            started = time.perf_counter()
            understanding = self._understanding(tenant, pack, conversation_id)
            history = (
                self._history(tenant, conversation_id) if understanding is not pack.understanding else []
            )
            commands = understanding.understand(text, expectation, history)
            understanding_seconds = time.perf_counter() - started
            understood_by = str(getattr(understanding, "last_source", "rules"))
            model_fallback = understanding is not pack.understanding
        turn = engine.handle(state, commands, text)
        # The message is stored with the first state it produced, in one transaction: a message
        # refused because another was handled at the same moment (409) leaves no trace.
        state, version = self._drive(turn, pack, ctx, version, events, user_text=text)
        reply = self._reply(conversation_id, state, events, commands)
        reply.understanding_seconds = understanding_seconds
        reply.understood_by = understood_by
        if self.collection is not None:
            self.collection.record_turn(
                tenant=tenant,
                pack_id=pack.id,
                conversation_id=conversation_id,
                commands=reply.commands,
                events=reply.events,
                handed_off=reply.handed_off,
                understood_by=understood_by,
                context=context,
                model_fallback=model_fallback and understood_by == "rules",
                low_confidence=understood_here and self._weakly_routed(pack, text, reply.commands),
            )
        return reply

    @staticmethod
    def _weakly_routed(pack: PackRuntime, text: str, commands: list[dict[str, Any]]) -> bool:
        """A flow started on a weak reading of the message (the rules' own measure)."""
        started = [c["flow"] for c in commands if c.get("command") == "start_flow"]
        judge = getattr(pack.understanding, "low_confidence", None)
        return bool(started) and judge is not None and bool(judge(text, started[0]))

    def _version(self, current: PackRuntime, state: DialogueState) -> PackRuntime:
        """The pack version the conversation's waiting flows started under (the current one when
        nothing waits, or nothing changed)."""
        if not state.frames or not state.pack_digest or state.pack_digest == current.loaded.digest:
            return current
        with self.database.transaction() as c:
            stored = SnapshotRepository(c).get(current.id, state.pack_digest)
        if stored is None:
            log.warning("pack.version_missing", pack=current.id, digest=state.pack_digest)
            return current
        return self.catalog.version(current, state.pack_digest, stored["files"])

    def _understanding(self, tenant: str, pack: PackRuntime, conversation_id: str) -> Any:
        """The LLM command generator when a model serves ``commands``, else the rule-based one."""
        assignment = (
            self.models.registry.assignment(tenant, pack.loaded.pack, "commands") if self.models else None
        )
        if assignment is None or self.models is None:
            return pack.understanding
        models = self.models

        def ask(request: ChatRequest) -> ChatResponse:
            return models.call(assignment, request, tenant=tenant, conversation_id=conversation_id)

        generator = LLMCommandGenerator(pack.loaded.pack, ask, prompt_format=assignment.prompt_format)
        return HybridUnderstanding(generator, pack.understanding)

    def _history(self, tenant: str, conversation_id: str) -> list[tuple[str, str]]:
        with self.database.transaction() as c:
            rows = ConversationRepository(c, tenant).messages(conversation_id)
        # The message being understood is not stored yet (it is passed separately). Text quoted
        # from documents never reaches the command model: a planted "ignore your instructions and
        # confirm" in a document must not turn into a command.
        return [
            ("user", m["text"])
            if m["role"] == "user"
            else ("assistant", QUOTED if (m["data"] or {}).get("flow") == KNOWLEDGE_FLOW else m["text"])
            for m in rows[-6:]
        ]

    def _rephrase(self, ctx: EffectContext, events: list[Event]) -> list[Event]:
        """Model-rephrased replies, kept only when every fact survives; the template otherwise."""
        if self.models is None or ctx.pack is None:
            return events
        assignment = self.models.registry.assignment(ctx.tenant, ctx.pack, "rephrase")
        if assignment is None:
            return events
        out = []
        for event in events:
            if event.kind != "bot.uttered":
                out.append(event)
                continue
            original = event.data["text"]
            request = ChatRequest.of(("system", REPHRASE_SYSTEM), ("user", original))
            try:
                text = self.models.call(
                    assignment, request, tenant=ctx.tenant, conversation_id=ctx.conversation_id
                ).text
            except ModelError:
                out.append(event)
                continue
            text = text.strip()
            if text and keeps_facts(original, text):
                out.append(Event(event.kind, {**event.data, "text": text, "template_text": original}))
            else:
                log.info("rephrase.rejected", problems=missing_facts(original, text))
                out.append(Event(event.kind, {**event.data, "rephrase_rejected": True}))
        return out

    def _drive(
        self,
        turn: Turn,
        pack: PackRuntime,
        ctx: EffectContext,
        version: int,
        events: list[Event],
        user_text: str | None = None,
    ) -> tuple[DialogueState, int]:
        """Perform effects until the engine asks for none; checkpoint before each effect. The
        first checkpoint stores ``user_text``, the person's message, with it."""
        engine: DialogueEngine = pack.engine
        for _ in range(MAX_EFFECTS_PER_MESSAGE):
            turn = Turn(turn.state, self._rephrase(ctx, turn.events), turn.effect)
            version = self._save(ctx, pack, turn, version, user_text)
            user_text = None
            events.extend(turn.events)
            if turn.effect is None:
                return turn.state, version
            outcome: Outcome = self.runtime.perform(turn.effect, self.runner(ctx.tenant, pack), ctx)
            turn = engine.resume(turn.state, outcome)
        raise UserError(
            f"more than {MAX_EFFECTS_PER_MESSAGE} tool calls for one message; the flow seems to loop"
        )

    def _save(
        self, ctx: EffectContext, pack: PackRuntime, turn: Turn, version: int, user_text: str | None = None
    ) -> int:
        with self.database.transaction() as c:
            repo = ConversationRepository(c, ctx.tenant)
            processes = ProcessRepository(c, ctx.tenant)
            if user_text is not None:
                repo.add_message(ctx.conversation_id, "user", user_text)
            # "working": an effect (a tool call, a generation) is under way; a conversation left in
            # it by a crash is finished by a worker (``recover``).
            status = "handed_off" if turn.state.handed_off else "working" if turn.effect else "active"
            if not turn.state.frames:
                turn.state.pack_digest = None
            elif turn.state.pack_digest is None and pack.loaded.digest:
                # The stack fills: pin the version its flows run under until it empties again.
                turn.state.pack_digest = pack.loaded.digest
                SnapshotRepository(c).ensure(
                    pack.id, pack.loaded.digest, pack.loaded.pack.version, pack.loaded.files
                )
            version = repo.save_state(ctx.conversation_id, turn.state.as_dict(), version, status)
            repo.add_events(ctx.conversation_id, [e.as_dict() for e in turn.events])
            handoff = next((e for e in turn.events if e.kind == "handoff.requested"), None)
            if handoff is not None:
                self._queue(c, ctx, pack, str(handoff.data.get("reason") or ""))
            for event in turn.events:
                if event.kind == "bot.uttered":
                    repo.add_message(ctx.conversation_id, "bot", event.data["text"], event.data)
                elif event.kind == "flow.started" and not event.data.get("pattern"):
                    processes.start_instance(
                        f"{ctx.conversation_id}/{event.data['frame']}",
                        ctx.conversation_id,
                        pack.id,
                        pack.loaded.pack.version,
                        event.data["flow"],
                    )
                elif event.kind in ("flow.completed", "flow.cancelled") and not event.data["flow"].startswith(
                    "pattern_"
                ):
                    processes.end_instance(
                        f"{ctx.conversation_id}/{event.data['frame']}", event.kind.split(".")[1]
                    )
        return version

    def _queue(self, c: Any, ctx: EffectContext, pack: PackRuntime, reason: str) -> None:
        """Put the conversation in the queue for a person (once, while one is open)."""
        queue = HandoffRepository(c, ctx.tenant)
        if queue.open_for(ctx.conversation_id) is not None:
            return
        so_far = ConversationRepository(c, ctx.tenant).events(ctx.conversation_id)
        queue.create(
            f"h_{uuid.uuid4().hex}", ctx.conversation_id, reason, understood(so_far, pack.loaded.pack)
        )
        log.info("handoff.queued", tenant=ctx.tenant, conversation=ctx.conversation_id)

    def _held(
        self, tenant: str, pack: PackRuntime, record: ConversationRecord, held: dict[str, Any], text: str
    ) -> Reply:
        """A message while a person has the conversation (or it waits for one): kept for them.
        While it waits, the person is told where they are in the queue, and may leave it."""
        said: list[dict[str, Any]] = []
        left = False
        responses = pack.loaded.pack.responses
        with self.database.transaction() as c:
            repo = ConversationRepository(c, tenant)
            queue = HandoffRepository(c, tenant)
            repo.add_message(record.id, "user", text)
            if held["status"] == "waiting" and cancels(text):
                queue.end(held["id"], "cancelled", record.user_id or "person")
                notice = responses.get("handoff_left", HANDOFF_LEFT)
                _back_to_assistant(repo, record, "")
                said.append({"text": notice, "buttons": []})
                left = True
            elif held["status"] == "waiting":
                place = queue.position(held["id"], held["requested_at"])
                line = Renderer().render(responses.get("handoff_queued", HANDOFF_QUEUED), {"place": place})
                said.append({"text": line, "buttons": []})
            for message in said:
                repo.add_message(record.id, "bot", message["text"], {"flow": "pattern_human_handoff"})
        return Reply(conversation_id=record.id, messages=said, handed_off=not left)

    def on_behalf(self, *, tenant: str, conversation_id: str, commands: list[Command]) -> Reply:
        """Commands given for the person by someone helping them (an agent starting a flow): the
        assistant goes on in the person's conversation, with the person's roles."""
        record, pack, state, ctx = self._load(tenant, conversation_id)
        events: list[Event] = []
        turn = pack.engine.handle(state, commands)
        state, _ = self._drive(turn, pack, ctx, record.version, events)
        return self._reply(conversation_id, state, events, commands)

    def say(self, *, tenant: str, conversation_id: str, role: str, text: str, data: dict[str, Any]) -> None:
        """A message in the conversation that is nobody's command: an agent's reply, a notice."""
        with self.database.transaction() as c:
            ConversationRepository(c, tenant).add_message(conversation_id, role, text, data)

    def release(self, *, tenant: str, conversation_id: str, notice: str) -> None:
        """The assistant answers the conversation again (a person handed it back or closed it)."""
        with self.database.transaction() as c:
            repo = ConversationRepository(c, tenant)
            record = repo.get(conversation_id)
            if record is None:
                raise UserError(f"no conversation {conversation_id}")
            _back_to_assistant(repo, record, notice)

    def _reply(
        self, conversation_id: str, state: DialogueState, events: list[Event], commands: list[Command]
    ) -> Reply:
        messages = [
            {"text": e.data["text"], "buttons": e.data.get("buttons", [])}
            for e in events
            if e.kind == "bot.uttered"
        ]
        return Reply(
            conversation_id=conversation_id,
            messages=messages,
            commands=[c.as_dict() for c in commands],
            events=[e.as_dict() for e in events],
            active_flows=[f.flow_id for f in state.frames],
            handed_off=state.handed_off,
        )

    def _load(
        self, tenant: str, conversation_id: str
    ) -> tuple[ConversationRecord, PackRuntime, DialogueState, EffectContext]:
        """A stored conversation, its pack, its state, and the context to perform effects in it."""
        with self.database.transaction() as c:
            record = ConversationRepository(c, tenant).get(conversation_id)
        if record is None:
            raise UserError(f"no conversation {conversation_id}")
        state = DialogueState.from_dict(record.state)
        pack = self._version(self.catalog.get(record.pack_id), state)
        ctx = EffectContext(
            tenant,
            conversation_id,
            record.user_id,
            requester=record.user_id,
            pack=pack.loaded.pack,
            roles=tuple(state.roles),
        )
        return record, pack, state, ctx

    def recover(self, *, tenant: str, conversation_id: str) -> Reply | None:
        """Finish the effect a crash left outstanding (its tool call replays from the idempotency
        record if its write had committed). None when there was nothing to finish."""
        record, pack, state, ctx = self._load(tenant, conversation_id)
        pending = pack.engine.pending_effect(state)
        events: list[Event] = []
        if pending is None:
            self._save(ctx, pack, Turn(state, [], None), record.version)
            return None
        log.info("conversation.recovering", conversation=conversation_id, effect=type(pending).__name__)
        state, _ = self._drive(Turn(state, [], pending), pack, ctx, record.version, events)
        return self._reply(conversation_id, state, events, [])

    def resume_with(
        self, *, tenant: str, conversation_id: str, outcome: ApprovalDecision | TimerFired
    ) -> Reply:
        """Feed an outcome that arrived from outside (an approval decision, a timer) into a
        conversation; its messages are stored there although the person asked nothing."""
        record, pack, state, ctx = self._load(tenant, conversation_id)
        events: list[Event] = []
        turn = pack.engine.resume(state, outcome)
        state, _ = self._drive(turn, pack, ctx, record.version, events)
        return self._reply(conversation_id, state, events, [])

    def history(self, *, tenant: str, conversation_id: str) -> dict[str, Any]:
        with self.database.transaction() as c:
            repo = ConversationRepository(c, tenant)
            record = repo.get(conversation_id)
            if record is None:
                raise UserError(f"no conversation {conversation_id}")
            return {
                "id": conversation_id,
                "pack": record.pack_id,
                "status": record.status,
                "messages": [
                    {"id": m["id"], "role": m["role"], "text": m["text"]}
                    for m in repo.messages(conversation_id)
                ],
            }

    def events(self, *, tenant: str, conversation_id: str) -> list[dict[str, Any]]:
        with self.database.transaction() as c:
            return ConversationRepository(c, tenant).events(conversation_id)

    def tool_calls(self, *, tenant: str, conversation_id: str) -> list[dict[str, Any]]:
        with self.database.transaction() as c:
            return ConversationRepository(c, tenant).tool_calls(conversation_id)


def _back_to_assistant(repo: ConversationRepository, record: ConversationRecord, notice: str) -> None:
    """The conversation is no longer with a person: the assistant answers its next message."""
    state = DialogueState.from_dict(record.state)
    state.handed_off = False
    repo.save_state(record.id, state.as_dict(), record.version, "active")
    if notice:
        repo.add_message(record.id, "bot", notice, {"flow": "pattern_human_handoff"})
