"""The intent-model use cases the CLI and API call (training reads the pack from its folder)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procpilot.packs.loader import load_pack
from procpilot.services import intents
from procpilot.services.settings import Settings
from procpilot.understanding.embeddings import MiniLMEncoder


def train_pack(
    folder: Path,
    settings: Settings,
    *,
    promote: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> intents.TrainedModel:
    pack = load_pack(folder).pack
    return intents.train(
        pack,
        MiniLMEncoder(settings.embedding_model_path),
        settings.data_dir,
        promote=promote,
        progress=progress,
    )


def promote(settings: Settings, pack_id: str, version: str) -> None:
    intents.promote_version(settings.data_dir, pack_id, version)


def list_versions(settings: Settings, pack_id: str) -> list[dict[str, Any]]:
    pointer = intents.models_root(settings.data_dir, pack_id) / "promoted.json"
    current = json.loads(pointer.read_text())["version"] if pointer.is_file() else None
    return [
        {**row, "promoted": row["version"] == current} for row in intents.versions(settings.data_dir, pack_id)
    ]
