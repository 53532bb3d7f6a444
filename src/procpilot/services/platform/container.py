"""Wiring: build every service once, from Settings. The only place that knows all the parts."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procpilot.services.access.accounts import AccountService
from procpilot.services.conversations.chats import ChatService
from procpilot.services.conversations.handoffs import HandoffService
from procpilot.services.conversations.messages import ConversationService
from procpilot.services.data.collection import CollectionService
from procpilot.services.data.datasets import DatasetService
from procpilot.services.data.reviews import ReviewService
from procpilot.services.knowledge import KnowledgeService, Progress
from procpilot.services.models.llm_training import TrainingService
from procpilot.services.models.routing import ModelRegistry, ModelService
from procpilot.services.packs.catalog import PackCatalog, Workspace
from procpilot.services.platform.idempotency import IdempotencyService
from procpilot.services.platform.metrics import Metrics
from procpilot.services.platform.settings import Settings
from procpilot.services.processes.approvals import ApprovalService
from procpilot.services.processes.durable import ProcessService
from procpilot.services.processes.instances import InstanceService
from procpilot.services.processes.runtime import InlineRuntime
from procpilot.services.processes.schedules import ScheduleService
from procpilot.services.processes.timers import TimerService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.understanding.embeddings import MiniLMEncoder

if TYPE_CHECKING:
    from procpilot.engine.dbos_engine import DBOSEngine


class SharedEncoder:
    """The process's one embedding model, loaded on first use (loading takes seconds)."""

    def __init__(self, path: Path | None = None, precision: str = "auto") -> None:
        self.path = path
        self.precision = precision
        self._encoder: MiniLMEncoder | None = None

    def get(self) -> MiniLMEncoder:
        if self._encoder is None:
            self._encoder = MiniLMEncoder(self.path, precision=self.precision)
        return self._encoder


@dataclass
class Container:
    settings: Settings
    database: Database
    catalog: PackCatalog
    workspace: Workspace
    conversations: ConversationService
    approvals: ApprovalService
    models: ModelService
    encoder: SharedEncoder
    knowledge: KnowledgeService
    processes: ProcessService
    timers: TimerService
    schedules: ScheduleService
    accounts: AccountService
    chats: ChatService
    instances: InstanceService
    idempotency: IdempotencyService
    metrics: Metrics
    collection: CollectionService
    reviews: ReviewService
    datasets: DatasetService
    training: TrainingService
    handoffs: HandoffService
    engine: DBOSEngine | None = None

    def start_processes(self, executor_id: str | None = None) -> DBOSEngine:
        """Run durable processes in this process (a worker): approval deadlines, timers, webhooks.

        DBOS recovers this executor's unfinished processes when it starts.
        """
        if self.engine is None:
            # Imported here: DBOS takes a second to import, and only workers need it.
            from procpilot.engine.dbos_engine import DBOSEngine, registry

            engine = DBOSEngine(
                system_database_url=self.settings.system_database_url(),
                executor_id=executor_id or self.settings.worker_id or default_worker_id(),
            )
            self.processes.register(registry())
            self.training.register(registry())
            engine.launch()
            self.processes.attach(engine)
            self.training.attach(engine)
            self.engine = engine
        return self.engine

    def prepare(self, progress: Progress | None = None, only: str | None = None) -> list[str]:
        """Create the business databases of every served pack (or pack ``only``) for the default
        tenant, and bring each pack's documents into its knowledge collection (only what changed)."""
        prepared = []
        tenant = self.settings.default_tenant
        if only is not None:
            self.catalog.get(only)  # an unknown or refused pack is a clear error
        for runtime in self.catalog.packs.values():
            if only is not None and runtime.id != only:
                continue
            path = self.workspace.business_db(tenant, runtime)
            report = self.knowledge.sync_pack(runtime.loaded.pack, progress=progress)
            data = "business data ready" if path else "no business data"
            prepared.append(f"{runtime.id}: {data}; {report.brief() if report else 'documents checked'}")
        return prepared

    def readiness(self) -> dict[str, Any]:
        """Ready to serve: the database answers and at least one pack is loaded."""
        database = self.database.ping()
        return {
            "status": "ready" if database and self.catalog.packs else "not ready",
            "database": "ok" if database else "unreachable",
            "packs": sorted(self.catalog.packs),
            "refused": sorted(self.catalog.errors),
        }

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
            self.processes.engine = None
            self.training.engine = None
        self.database.dispose()


def build(settings: Settings | None = None, *, load_packs: bool = True) -> Container:
    """Create the database schema if needed, load the packs, and wire the services."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.transaction() as c:
        AccountRepository(c).ensure_tenant(settings.default_tenant, "Default tenant")
    encoder = SharedEncoder(settings.embedding_model_path, settings.embedding_precision)
    catalog = PackCatalog(settings.packs_dir, data_dir=settings.data_dir, encoder=encoder.get)
    if load_packs:
        catalog.load_all()
    workspace = Workspace(settings.data_dir)
    registry = ModelRegistry(settings)
    models = ModelService(database, registry, settings.llm_timeout)
    runtime = InlineRuntime(database, retry_base_seconds=settings.tool_retry_base_seconds, models=models)
    knowledge = KnowledgeService(database, encoder.get, models)
    conversations = ConversationService(
        database, catalog, workspace, runtime, Settings.secrets(), models, knowledge
    )
    processes = ProcessService(webhook_url=settings.webhook_url)
    runtime.processes = processes
    approvals = ApprovalService(database, conversations, processes)
    processes.approvals = approvals
    timers = TimerService(database, conversations)
    processes.timers = timers
    schedules = ScheduleService(
        database, catalog, conversations, processes, catch_up_seconds=settings.schedule_catch_up_seconds
    )
    processes.schedules = schedules
    chats = ChatService(database, conversations)
    collection = CollectionService(database)
    conversations.collection = collection
    datasets = DatasetService(database, lambda: redactor(settings.spacy_model))
    training = TrainingService(
        database, settings, lambda pack_id: catalog.get(pack_id).loaded.pack, datasets.items, pack_tests
    )
    registry.promoted = training.promoted
    return Container(
        settings,
        database,
        catalog,
        workspace,
        conversations,
        approvals,
        models,
        encoder,
        knowledge,
        processes,
        timers,
        schedules,
        AccountService(database, settings.default_tenant, settings.session_hours),
        chats,
        InstanceService(database, catalog, conversations, chats),
        IdempotencyService(database),
        Metrics(database),
        collection,
        ReviewService(database),
        datasets,
        training,
        HandoffService(database, conversations),
    )


def pack_tests(pack: Any, commands_model: Path) -> dict[str, Any]:
    """A pack's conversation tests with a GGUF file as its command generator (the gate's figure)."""
    from procpilot.services.packs.conversation_tests import run_pack_tests

    report = run_pack_tests(Path(pack.root), commands_model=commands_model)
    total = len(report.results)
    return {"tests": total, "tests_passed": round(report.passed / total, 4) if total else None}


def redactor(spacy_model: str | None) -> Any:
    """The redactor; imported when first asked for (it loads Presidio and spaCy)."""
    from procpilot.redaction.redactor import Redactor

    return Redactor(spacy_model)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"
