"""``procpilot bench ingest``: how fast a pack's documents are read, embedded and stored.

The same documents are ingested into fresh SQLite databases three times: the chunks of every few
documents embedded as they come in float32 (how ingestion worked before: about 64 chunks at a
time); the chunks of many documents embedded together, shortest first; and that with the model
in bfloat16 where the CPU computes it natively (now, ``embedding_precision: auto``). The embedding
model is loaded once beforehand, so only ingestion is timed; the runs share one process and
machine, so their ratio is the figure to read.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procpilot.bench.report import Figures
from procpilot.services.knowledge import STORE_CHUNKS, KnowledgeService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.understanding.embeddings import MiniLMEncoder

TENANT = "bench"
# (chunks embedded together, the model's precision)
GROUPINGS = {
    "as they come, float32 (before)": (64, "float32"),
    "together, shortest first, float32": (STORE_CHUNKS, "float32"),
    "together, shortest first, auto (now)": (STORE_CHUNKS, "auto"),
}


def run(pack: Path, *, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    root = pack / "knowledge"
    if not root.is_dir():
        raise FileNotFoundError(f"{root} has no documents")
    runs: dict[str, dict[str, Any]] = {}
    for name, (group, precision) in GROUPINGS.items():
        encoder = MiniLMEncoder(precision=precision)
        encoder.load()
        encoder.encode(["warm up"])
        progress(f"ingesting {root}: {name}")
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{Path(folder) / 'ingest.sqlite'}")
            try:
                database.migrate()
                with database.transaction() as c:
                    AccountRepository(c).ensure_tenant(TENANT, "Benchmark")
                service = KnowledgeService(database, _given(encoder))
                service.store_chunks = group
                started = time.perf_counter()
                report = service.ingest_folder(TENANT, "bench", root)
                seconds = time.perf_counter() - started
            finally:
                database.dispose()
        documents = len(report.added)
        runs[name] = {
            "chunks_per_group": group,
            "precision": "bfloat16" if encoder.bfloat16 else "float32",
            "documents": documents,
            "chunks": report.chunks,
            "seconds": round(seconds, 2),
            "documents_per_second": round(documents / seconds, 1) if seconds else None,
            "chunks_per_second": round(report.chunks / seconds, 1) if seconds else None,
        }
    names = list(GROUPINGS)
    before, now = runs[names[0]]["seconds"], runs[names[-1]]["seconds"]
    return {"pack": pack.name, "runs": runs, "speed_up": round(before / now, 2) if now else None}


def _given(encoder: MiniLMEncoder) -> Callable[[], MiniLMEncoder]:
    return lambda: encoder


def figures(report: dict[str, Any]) -> Figures:
    made = Figures(
        f"Ingestion of {report['pack']}",
        [
            "grouping",
            "chunks per group",
            "precision",
            "documents",
            "chunks",
            "seconds",
            "documents/s",
            "chunks/s",
        ],
    )
    for name, r in report["runs"].items():
        made.add(
            name,
            r["chunks_per_group"],
            r["precision"],
            r["documents"],
            r["chunks"],
            r["seconds"],
            r["documents_per_second"],
            r["chunks_per_second"],
        )
    made.notes.append(f"speed-up: {report['speed_up']}x (same process, same machine)")
    return made
