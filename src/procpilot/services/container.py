"""Wiring: build every service once, from Settings. The only place that knows all the parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from procpilot.services.approvals import ApprovalService
from procpilot.services.catalog import PackCatalog, Workspace
from procpilot.services.conversations import ConversationService
from procpilot.services.models import ModelRegistry, ModelService
from procpilot.services.runtime import InlineRuntime
from procpilot.services.settings import Settings
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.understanding.embeddings import MiniLMEncoder


class SharedEncoder:
    """The process's one embedding model, loaded on first use (loading takes seconds)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._encoder: MiniLMEncoder | None = None

    def get(self) -> MiniLMEncoder:
        if self._encoder is None:
            self._encoder = MiniLMEncoder(self.path)
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

    def prepare(self) -> list[str]:
        """Create the business databases of every served pack for the default tenant."""
        prepared = []
        for runtime in self.catalog.packs.values():
            path = self.workspace.business_db(self.settings.default_tenant, runtime)
            prepared.append(f"{runtime.id}: {path or 'no business database'}")
        return prepared

    def close(self) -> None:
        self.database.dispose()


def build(settings: Settings | None = None, *, load_packs: bool = True) -> Container:
    """Create the database schema if needed, load the packs, and wire the services."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url())
    database.migrate()
    with database.transaction() as c:
        AccountRepository(c).ensure_tenant(settings.default_tenant, "Default tenant")
    encoder = SharedEncoder(settings.embedding_model_path)
    catalog = PackCatalog(settings.packs_dir, data_dir=settings.data_dir, encoder=encoder.get)
    if load_packs:
        catalog.load_all()
    workspace = Workspace(settings.data_dir)
    registry = ModelRegistry(settings)
    models = ModelService(database, registry, settings.llm_timeout)
    runtime = InlineRuntime(database, retry_base_seconds=settings.tool_retry_base_seconds, models=models)
    conversations = ConversationService(database, catalog, workspace, runtime, Settings.secrets(), models)
    approvals = ApprovalService(database, conversations)
    return Container(settings, database, catalog, workspace, conversations, approvals, models, encoder)
