"""The packs a server serves: loaded at start, broken ones reported and skipped, reloadable."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from procpilot.domain.errors import PackError, Problem, UserError
from procpilot.domain.identifiers import check_id
from procpilot.engine import DialogueEngine
from procpilot.packs.loader import LoadedPack, load_pack, load_snapshot
from procpilot.services.models import intent_models
from procpilot.tools.runner import ToolRunner
from procpilot.tools.toolset import Tool, module_function
from procpilot.understanding import RuleUnderstanding
from procpilot.understanding.classifier_matcher import ClassifierMatcher
from procpilot.understanding.embeddings import Encoder
from procpilot.understanding.rules import IntentSource

log = structlog.get_logger(__name__)


@dataclass
class PackRuntime:
    """A loaded pack with everything needed to hold conversations in it."""

    loaded: LoadedPack
    engine: DialogueEngine
    understanding: RuleUnderstanding
    tools: dict[str, Tool]
    runners: dict[str, ToolRunner] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.loaded.pack.id


def build_runtime(loaded: LoadedPack, intents: IntentSource | None = None) -> PackRuntime:
    """Everything a pack needs at run time. ``intents`` is a trained classifier, if one is promoted."""
    pack = loaded.pack
    understanding = RuleUnderstanding(pack, intents=intents)
    return PackRuntime(
        loaded=loaded,
        engine=DialogueEngine(pack, recall=understanding.recall),
        understanding=understanding,
        tools=dict(loaded.tools),
    )


class Workspace:
    """Per-tenant business databases of packs, seeded from the pack's seed function on first use."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()

    def path(self, tenant: str, pack_id: str) -> Path:
        """Where a tenant's business database of a pack lives; the ids are checked here, the one
        place that turns them into a path."""
        folder = check_id("tenant", tenant, internal=True)
        return self.data_dir / "business" / folder / f"{check_id('pack', pack_id)}.sqlite"

    def business_db(self, tenant: str, runtime: PackRuntime) -> Path | None:
        pack = runtime.loaded.pack
        if not pack.database_seed:
            return None
        path = self.path(tenant, pack.id)
        with self._lock:
            if not path.exists():
                seed_database(runtime, path)
        return path


def seed_database(runtime: PackRuntime, path: Path) -> None:
    """Create ``path`` with the pack's seed data, atomically (a half-seeded file never appears)."""
    pack = runtime.loaded.pack
    assert pack.database_seed
    file, _, function = pack.database_seed.partition(":")
    seed = module_function(
        Path(pack.root) / file, f"procpilot_pack_{pack.id}_{Path(file).stem}", function or "seed"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".seeding", delete=False) as handle:
        temp = Path(handle.name)
    try:
        connection = sqlite3.connect(temp)
        try:
            seed(connection, Path(pack.root) / "data")
            connection.commit()
        finally:
            connection.close()
        shutil.move(temp, path)
    except Exception as error:
        temp.unlink(missing_ok=True)
        raise UserError(f"seeding the database of pack {pack.id!r} failed: {error}") from error


class PackCatalog:
    """Loads every pack under a folder. A broken pack is recorded in ``errors`` and not served.

    With a ``data_dir`` and an ``encoder`` factory, a pack whose intent classifier has been trained
    and promoted understands with it; other packs use the example matcher.
    """

    def __init__(
        self, packs_dir: Path, *, data_dir: Path | None = None, encoder: Callable[[], Encoder] | None = None
    ) -> None:
        self.packs_dir = packs_dir
        self.data_dir = data_dir
        self.encoder = encoder
        self.packs: dict[str, PackRuntime] = {}
        self.errors: dict[str, PackError] = {}
        self._versions: dict[tuple[str, str], PackRuntime] = {}
        self._versions_lock = threading.Lock()

    def _intents(self, pack_id: str) -> IntentSource | None:
        if self.data_dir is None or self.encoder is None:
            return None
        classifier = intent_models.promoted(self.data_dir, pack_id)
        if classifier is None:
            return None
        log.info("intents.loaded", pack=pack_id, labels=len(classifier.labels))
        return ClassifierMatcher(classifier, self.encoder())

    def load_all(self) -> None:
        packs: dict[str, PackRuntime] = {}
        errors: dict[str, PackError] = {}
        folders = (
            sorted(p for p in self.packs_dir.iterdir() if (p / "pack.yaml").is_file())
            if self.packs_dir.is_dir()
            else []
        )
        for folder in folders:
            try:
                loaded = load_pack(folder)
                runtime = build_runtime(loaded, self._intents(loaded.pack.id))
            except PackError as error:
                errors[folder.name] = error
                log.error("pack.refused", pack=folder.name, problems=[str(p) for p in error.problems])
                # A broken edit of a served pack does not take it away: the last good version stays.
                kept = next((r for r in self.packs.values() if Path(r.loaded.pack.root) == folder), None)
                if kept is not None:
                    packs[kept.id] = kept
                continue
            packs[runtime.id] = runtime
            log.info("pack.loaded", pack=runtime.id, flows=len(runtime.loaded.pack.flows))
        self.packs, self.errors = packs, errors

    def add(self, folder: Path) -> PackRuntime:
        loaded = load_pack(folder)
        runtime = build_runtime(loaded, self._intents(loaded.pack.id))
        self.packs[runtime.id] = runtime
        return runtime

    def reload_models(self, pack_id: str) -> PackRuntime:
        """Pick up a newly promoted intent model without restarting."""
        current = self.get(pack_id)
        runtime = build_runtime(current.loaded, self._intents(pack_id))
        self.packs[pack_id] = runtime
        return runtime

    def version(self, current: PackRuntime, digest: str, files: dict[str, str]) -> PackRuntime:
        """``current`` as it was at ``digest``: the flows of that version, today's tools and
        understanding. Falls back to ``current`` (logged) when that version no longer loads."""
        key = (current.id, digest)
        with self._versions_lock:
            found = self._versions.get(key)
            if found is None:
                base = self.data_dir or Path(tempfile.gettempdir()) / "procpilot"
                try:
                    loaded = load_snapshot(
                        Path(current.loaded.pack.root), files, base / "pack-versions" / current.id / digest
                    )
                except PackError as error:
                    log.error("pack.version_unloadable", pack=current.id, digest=digest, error=str(error))
                    return current
                found = PackRuntime(
                    loaded=loaded,
                    engine=DialogueEngine(loaded.pack, recall=current.understanding.recall),
                    understanding=current.understanding,
                    tools=current.tools,
                    runners=current.runners,
                )
                self._versions[key] = found
        return found

    def get(self, pack_id: str) -> PackRuntime:
        runtime = self.packs.get(pack_id)
        if runtime is None:
            if pack_id in self.errors:
                raise UserError(
                    f"pack {pack_id!r} is not served because it failed validation:\n{self.errors[pack_id]}"
                )
            raise UserError(f"no pack {pack_id!r}; available: {', '.join(sorted(self.packs)) or 'none'}")
        return runtime

    def summary(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "name": r.loaded.pack.name,
                "version": r.loaded.pack.version,
                "description": r.loaded.pack.description,
                "status": "loaded" if r.id not in self.errors else "loaded; its new version was refused",
                "flows": [f.id for f in r.loaded.pack.user_flows()],
                **({"problems": [str(p) for p in self.errors[r.id].problems]} if r.id in self.errors else {}),
            }
            for r in self.packs.values()
        ]
        rows += [
            {"id": name, "status": "refused", "problems": [str(p) for p in error.problems]}
            for name, error in self.errors.items()
            if name not in self.packs
        ]
        return rows


def validate_folder(path: Path) -> list[Problem]:
    """Every problem of the pack in ``path`` (empty when it is valid)."""
    try:
        load_pack(path)
    except PackError as error:
        return error.problems
    return []
