"""``procpilot bench kb``: retrieval quality and speed on a pack's labelled questions.

Ingests the pack's ``knowledge/`` into a fresh database (a temporary SQLite file unless a URL is
given), then asks every question of ``bench/questions.yaml`` with full text alone, vectors alone and
both fused. A question is answered by a document; retrieved chunks are reduced to documents in rank
order. Figures: recall@1, recall@5, MRR over the first 10 documents, queries per second, and how
often "nothing found" is said for questions the documents do not answer (and wrongly for ones they do).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from procpilot.bench.report import Figures
from procpilot.domain.errors import UserError
from procpilot.services.knowledge import MODES, KnowledgeService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.understanding.embeddings import MiniLMEncoder

TENANT = "bench"


def load_questions(pack: Path) -> tuple[list[dict[str, Any]], list[str]]:
    path = pack / "bench" / "questions.yaml"
    if not path.is_file():
        raise UserError(f"{path}: no labelled questions (questions: [{{q, doc}}], unanswerable: [...])")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    questions = data.get("questions") or []
    for index, item in enumerate(questions):
        if not isinstance(item, dict) or not item.get("q") or not item.get("doc"):
            raise UserError(f"{path}: question {index + 1} needs `q` and `doc`")
    return questions, [str(q) for q in data.get("unanswerable") or []]


def _documents(passages: list[Any]) -> list[str]:
    """Document ids in rank order, each once (a JSON document's id is its file's name)."""
    seen: list[str] = []
    for passage in passages:
        name = Path(passage.source.split("#", 1)[-1] if "#" in passage.source else passage.source).stem
        if name not in seen:
            seen.append(name)
    return seen


def run(
    pack: Path,
    *,
    database_url: str | None = None,
    modes: tuple[str, ...] = MODES,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    questions, unanswerable = load_questions(pack)
    with tempfile.TemporaryDirectory() as folder:
        database = Database(database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        try:
            return _run(database, pack, questions, unanswerable, modes, progress)
        finally:
            database.dispose()


def _run(
    database: Database,
    pack: Path,
    questions: list[dict[str, Any]],
    unanswerable: list[str],
    modes: tuple[str, ...],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    database.migrate()
    with database.transaction() as c:
        AccountRepository(c).ensure_tenant(TENANT, "Benchmark")
    encoder = MiniLMEncoder()
    encoder.load()
    service = KnowledgeService(database, lambda: encoder)
    collection = f"bench-{pack.name}"
    service.clear(TENANT, collection)  # a database given by URL may hold an earlier run
    progress(f"ingesting {pack / 'knowledge'} ...")
    started = time.perf_counter()
    report = service.ingest_folder(TENANT, collection, pack / "knowledge")
    ingest_seconds = time.perf_counter() - started
    labels = service.labels(TENANT, collection)  # read as someone who may read everything
    results: dict[str, Any] = {}
    for mode in modes:
        progress(f"{mode}: {len(questions)} questions")
        service.search(TENANT, collection, "warm up", labels=labels, mode=mode)
        hits1 = hits5 = 0
        reciprocal = 0.0
        started = time.perf_counter()
        for item in questions:
            wanted = {item["doc"], *(item.get("also") or [])}
            ranked = _documents(
                service.search(TENANT, collection, item["q"], labels=labels, mode=mode, limit=30)
            )[:10]
            rank = next((i for i, doc in enumerate(ranked, start=1) if doc in wanted), None)
            if rank is not None:
                hits1 += rank == 1
                hits5 += rank <= 5
                reciprocal += 1.0 / rank
        seconds = time.perf_counter() - started
        results[mode] = {
            "recall@1": round(hits1 / len(questions), 3),
            "recall@5": round(hits5 / len(questions), 3),
            "mrr@10": round(reciprocal / len(questions), 3),
            "qps": round(len(questions) / seconds, 1),
            "ms_per_query": round(1000 * seconds / len(questions), 1),
        }
    progress("answers: relevant or nothing found")
    said_nothing = sum(not service.answer(TENANT, collection, q, labels=labels).found for q in unanswerable)
    wrongly_nothing = cites_right = 0
    for item in questions:
        answer = service.answer(TENANT, collection, item["q"], labels=labels)
        wrongly_nothing += not answer.found
        cited = set(_documents(list(answer.citations)))
        cites_right += bool(cited & {item["doc"], *(item.get("also") or [])})
    return {
        "pack": pack.name,
        "database": database.engine.dialect.name,
        "vectors": database.vectors,
        "documents": len(report.added),
        "chunks": report.chunks,
        "ingest_seconds": round(ingest_seconds, 1),
        "chunks_per_second": round(report.chunks / ingest_seconds, 1) if ingest_seconds else None,
        "questions": len(questions),
        "modes": results,
        "unanswerable": len(unanswerable),
        "nothing_found_when_unanswerable": round(said_nothing / len(unanswerable), 3)
        if unanswerable
        else None,
        "nothing_found_when_answerable": round(wrongly_nothing / len(questions), 3),
        "answer_cites_the_right_document": round(cites_right / len(questions), 3),
        "min_similarity": service.min_similarity,
    }


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"{report['pack']}: {report['questions']} questions, {report['documents']} documents, "
        f"{report['chunks']} chunks ({report['database']}, vectors by {report['vectors']})",
        ["retrieval", "recall@1", "recall@5", "MRR@10", "queries/s", "ms/query"],
    )
    names = {"fts": "full text alone", "vector": "vectors alone", "hybrid": "fused (RRF)"}
    for mode, row in report["modes"].items():
        table.add(
            names.get(mode, mode),
            f"{row['recall@1']:.3f}",
            f"{row['recall@5']:.3f}",
            f"{row['mrr@10']:.3f}",
            row["qps"],
            row["ms_per_query"],
        )
    table.notes += [
        f"ingestion: {report['ingest_seconds']} s ({report['chunks_per_second']} chunks/s, embeddings included)",
        f"'nothing found' said for {report['nothing_found_when_unanswerable']:.0%} of {report['unanswerable']} "
        f"unanswerable questions and {report['nothing_found_when_answerable']:.0%} of answerable ones "
        f"(similarity floor {report['min_similarity']})",
        f"answers citing the labelled document: {report['answer_cites_the_right_document']:.1%}",
    ]
    return table
