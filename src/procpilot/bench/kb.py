"""``procpilot bench kb``: retrieval and answer quality, and speed, on a pack's labelled questions.

Ingests the pack's ``knowledge/`` into a fresh database (a temporary SQLite file unless a URL is
given) and asks the questions of ``bench/questions.yaml``:

    questions      written by the benchmark's author, each naming the document that answers it
    customers      written as customers write (typos, their own words, indirect), each with the
                   document and a ``fact`` the answer must contain
    unanswerable   questions the documents do not answer: "nothing found" is the right answer
    staff_only     asked by customers, answered only by documents for staff: the right answer says
                   it can't help with that here (and quotes nothing)

Retrieval (recall@1, recall@5, MRR@10 over documents) is measured for full text alone, vectors
alone, plain reciprocal rank fusion and the re-ranked search the assistant uses. Answers are asked
as a customer (who may not read staff documents) for customer questions and as staff for the
author's questions (some of which are about staff procedures). When the answer asks which of two
similar documents is meant, the asker picks the labelled one if it is offered (a customer knows
their own account), and that counts as asked.

``--calibrate`` fits the re-ranker's weights and the "nothing found" threshold on
``bench/dev.yaml`` (a separate set, never the measured one) and writes them to
``procpilot/knowledge/calibration.json``.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from procpilot.bench.report import Figures
from procpilot.domain.errors import UserError
from procpilot.knowledge.ranking import (
    ABSTENTION_FEATURES,
    CALIBRATION,
    DEFAULT,
    FEATURES,
    Calibration,
    fit_logistic,
    fit_ranker,
)
from procpilot.services.knowledge import KnowledgeService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.understanding.embeddings import MiniLMEncoder

TENANT = "bench"
RETRIEVAL_MODES = ("fts", "vector", "rrf", "hybrid")
MODE_NAMES = {
    "fts": "full text alone",
    "vector": "vectors alone",
    "rrf": "fused (RRF)",
    "hybrid": "re-ranked",
}


def load_questions(path: Path) -> dict[str, list[Any]]:
    """The labelled questions of a ``questions.yaml`` (or ``dev.yaml``), checked."""
    if not path.is_file():
        raise UserError(f"{path}: no labelled questions (questions: [{{q, doc}}], unanswerable: [...])")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, list[Any]] = {}
    for key in ("questions", "customers"):
        items = data.get(key) or []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("q") or not item.get("doc"):
                raise UserError(f"{path}: {key} {index + 1} needs `q` and `doc`")
        out[key] = items
    for key in ("unanswerable", "staff_only"):
        out[key] = [str(q) for q in data.get(key) or []]
    return out


def _documents(passages: Sequence[Any]) -> list[str]:
    """Document ids in rank order, each once (a JSON document's id is its file's name)."""
    seen: list[str] = []
    for passage in passages:
        name = Path(passage.source.split("#", 1)[-1] if "#" in passage.source else passage.source).stem
        if name not in seen:
            seen.append(name)
    return seen


def _wanted(item: dict[str, Any]) -> set[str]:
    return {item["doc"], *(item.get("also") or [])}


class Bench:
    """A pack's documents ingested into one database, and the service that answers from them."""

    def __init__(self, database: Database, pack: Path, calibration: Calibration | None = None) -> None:
        database.migrate()
        with database.transaction() as c:
            AccountRepository(c).ensure_tenant(TENANT, "Benchmark")
        self.encoder = MiniLMEncoder()
        self.encoder.load()
        self.service = KnowledgeService(database, lambda: self.encoder, calibration=calibration)
        self.collection = f"bench-{pack.name}"
        self.database = database
        self.pack = pack

    def ingest(self, *, fresh: bool = True) -> tuple[int, int, float]:
        if fresh:
            self.service.clear(TENANT, self.collection)  # a database given by URL may hold an earlier run
        started = time.perf_counter()
        report = self.service.ingest_folder(TENANT, self.collection, self.pack / "knowledge")
        return len(report.added) + report.unchanged, report.chunks, time.perf_counter() - started

    def staff(self) -> list[str]:
        return self.service.labels(TENANT, self.collection)

    def retrieval(self, items: Sequence[dict[str, Any]], mode: str, labels: Sequence[str]) -> dict[str, Any]:
        self.service.search(TENANT, self.collection, "warm up", labels=labels, mode=mode)
        hits1 = hits5 = 0
        reciprocal = 0.0
        started = time.perf_counter()
        for item in items:
            ranked = _documents(
                self.service.search(TENANT, self.collection, item["q"], labels=labels, mode=mode, limit=40)
            )[:10]
            rank = next((i for i, doc in enumerate(ranked, start=1) if doc in _wanted(item)), None)
            if rank is not None:
                hits1 += rank == 1
                hits5 += rank <= 5
                reciprocal += 1.0 / rank
        seconds = time.perf_counter() - started
        n = max(1, len(items))
        return {
            "recall@1": round(hits1 / n, 3),
            "recall@5": round(hits5 / n, 3),
            "mrr@10": round(reciprocal / n, 3),
            "ms_per_query": round(1000 * seconds / n, 1),
        }

    def ask(self, question: str, labels: Sequence[str], wanted: set[str] | None = None) -> tuple[Any, bool]:
        """The answer, and whether it first asked which document was meant; then the labelled one, when
        offered, is chosen as its button does: the question asked again with that title added."""
        answer = self.service.answer(TENANT, self.collection, question, labels=labels)
        if not answer.choices:
            return answer, False
        for document_id, title in answer.choices:
            if wanted and self._name(document_id, labels) in wanted:
                again = self.service.answer(TENANT, self.collection, f"{question} ({title})", labels=labels)
                return (again if not again.choices else replace(again, found=False)), True
        return replace(answer, found=False), True

    def _name(self, document_id: int, labels: Sequence[str]) -> str:
        found = self.service.document(TENANT, self.collection, document_id, labels)
        return Path(str(found["source"])).stem

    def answers(self, items: Sequence[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
        refused = cites = facts = with_fact = asked = 0
        misses: list[str] = []
        started = time.perf_counter()
        for item in items:
            answer, was_asked = self.ask(item["q"], labels, _wanted(item))
            asked += was_asked
            refused += not answer.found
            cites += bool(set(_documents(list(answer.citations))) & _wanted(item))
            if item.get("fact"):
                with_fact += 1
                right = answer.found and str(item["fact"]).lower() in answer.text.lower()
                facts += right
                if not right:
                    misses.append(item["q"])
        n = max(1, len(items))
        return {
            "questions": len(items),
            "refused": round(refused / n, 3),
            "cites_the_document": round(cites / n, 3),
            "with_fact": with_fact,
            "fact_in_answer": round(facts / with_fact, 3) if with_fact else None,
            "asked_which": asked,
            "seconds_per_question": round((time.perf_counter() - started) / n, 3),
            "missed": misses,
        }

    def refusals(self, questions: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
        refused = restricted = 0
        answered: list[str] = []
        for question in questions:
            answer, _ = self.ask(question, labels)
            refused += not answer.found
            restricted += answer.restricted
            if answer.found:
                answered.append(question)
        n = max(1, len(questions))
        return {
            "questions": len(questions),
            "refused": round(refused / n, 3),
            "said_for_staff": round(restricted / n, 3),
            "answered": answered,
        }


def run(
    pack: Path,
    *,
    database_url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    keep: bool = False,
) -> dict[str, Any]:
    """The benchmark on one database (``keep``: reuse what an earlier run ingested there)."""
    questions = load_questions(pack / "bench" / "questions.yaml")
    with tempfile.TemporaryDirectory() as folder:
        database = Database(database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        try:
            return _run(Bench(database, pack), questions, progress, keep)
        finally:
            database.dispose()


def _run(
    bench: Bench, questions: dict[str, list[Any]], progress: Callable[[str], None], keep: bool
) -> dict[str, Any]:
    progress(f"ingesting {bench.pack / 'knowledge'} ...")
    documents, chunks, ingest_seconds = bench.ingest(fresh=not keep)
    staff = bench.staff()
    sets = {"author": (questions["questions"], staff), "customers": (questions["customers"], [])}
    retrieval: dict[str, dict[str, Any]] = {}
    for name, (items, labels) in sets.items():
        if not items:
            continue
        for mode in RETRIEVAL_MODES:
            progress(f"retrieval, {name}: {MODE_NAMES[mode]}")
            retrieval.setdefault(name, {})[mode] = bench.retrieval(items, mode, labels)
    progress("answers")
    answers = {name: bench.answers(items, labels) for name, (items, labels) in sets.items() if items}
    progress("questions the documents do not answer")
    unanswerable = bench.refusals(questions["unanswerable"], [])
    staff_only = bench.refusals(questions["staff_only"], [])
    return {
        "pack": bench.pack.name,
        "database": bench.database.engine.dialect.name,
        "vectors": bench.database.vectors,
        "documents": documents,
        "chunks": chunks,
        "ingest_seconds": round(ingest_seconds, 1),
        "documents_per_second": round(documents / ingest_seconds, 1) if ingest_seconds else None,
        "retrieval": retrieval,
        "answers": answers,
        "unanswerable": unanswerable,
        "staff_only": staff_only,
        "calibration": bench.service.calibration.note,
    }


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"{report['pack']}: {report['documents']} documents, {report['chunks']} chunks "
        f"({report['database']}, vectors by {report['vectors']})",
        ["questions", "retrieval", "recall@1", "recall@5", "MRR@10", "ms/query"],
    )
    for name, modes in report["retrieval"].items():
        count = report["answers"][name]["questions"]
        for mode, row in modes.items():
            table.add(
                f"{name} ({count})",
                MODE_NAMES.get(mode, mode),
                f"{row['recall@1']:.3f}",
                f"{row['recall@5']:.3f}",
                f"{row['mrr@10']:.3f}",
                row["ms_per_query"],
            )
    for name, row in report["answers"].items():
        fact = (
            f"the asked fact in {row['fact_in_answer']:.1%} of {row['with_fact']} answers, "
            if row["fact_in_answer"] is not None
            else ""
        )
        table.notes.append(
            f"answers, {name}: {fact}the labelled document cited in {row['cites_the_document']:.1%}, "
            f"refused {row['refused']:.1%}, asked which document {row['asked_which']} times; "
            f"{row['seconds_per_question']:.2f} s per question"
        )
    un, staff = report["unanswerable"], report["staff_only"]
    table.notes += [
        f"unanswerable: refused {un['refused']:.1%} of {un['questions']}",
        f"staff-only, asked by customers: refused {staff['refused']:.1%} of {staff['questions']} "
        f"({staff['said_for_staff']:.1%} told it is for staff)",
        f"ingestion: {report['ingest_seconds']} s ({report['documents_per_second']} documents/s, embeddings included)",
        f"weights: {report['calibration']}",
    ]
    return table


HEADING_QUESTIONS = 600


def heading_questions(bench: Bench, count: int, *, seed: int = 3) -> list[dict[str, Any]]:
    """Questions made from the documents' own headings, for training the ranker beside the written
    ones: a section's heading with the subject the title names before a colon ("mobile check deposit
    gold plus account"), answered by its document. Documents everyone may read only."""
    made: list[dict[str, Any]] = []
    for listed in bench.service.documents(TENANT, bench.collection, []):
        document = bench.service.document(TENANT, bench.collection, listed["id"], [])
        title = str(document["title"])
        subject = title.split(":", 1)[0] if ":" in title else ""
        name = Path(str(document["source"])).stem
        headings = dict.fromkeys(
            str(c["section"]).split(" > ")[-1] for c in document["chunks"] if c["section"]
        )
        made += [{"q": f"{h} {subject}".strip().lower(), "doc": name} for h in headings if h and h != title]
    random.Random(seed).shuffle(made)
    return made[:count]


def choose_threshold(positives: np.ndarray, negatives: np.ndarray, max_false_refusals: float) -> float:
    """The "nothing found" threshold: as many unanswerable questions refused as any threshold refusing
    at most ``max_false_refusals`` of the answerable ones manages, placed midway (in log-odds) between
    the strictest and the most lenient threshold that does so, to leave room on both sides."""
    if not len(positives):
        return 0.5
    ordered = np.sort(positives)
    strict = float(ordered[int(np.floor(max_false_refusals * len(ordered)))]) - 1e-9
    refused = negatives[negatives < strict]
    lenient = float(refused.max()) + 1e-9 if len(refused) else strict
    logit = lambda v: math.log(max(v, 1e-9) / max(1 - v, 1e-9))  # noqa: E731
    middle = (logit(strict) + logit(min(lenient, strict))) / 2
    return 1.0 / (1.0 + math.exp(-middle))


def calibrate(
    pack: Path,
    *,
    database_url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
    keep: bool = False,
    path: Path = CALIBRATION,
    max_false_refusals: float = 0.05,
) -> dict[str, Any]:
    """Fit the re-ranker and the "nothing found" threshold on ``bench/dev.yaml``; save them."""
    dev = load_questions(pack / "bench" / "dev.yaml")
    with tempfile.TemporaryDirectory() as folder:
        database = Database(database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        try:
            bench = Bench(database, pack, DEFAULT)
            progress(f"ingesting {pack / 'knowledge'} ...")
            bench.ingest(fresh=not keep)
            return _calibrate(bench, dev, path, max_false_refusals, progress)
        finally:
            database.dispose()


def _calibrate(
    bench: Bench,
    dev: dict[str, list[Any]],
    path: Path,
    max_false_refusals: float,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    service = bench.service
    answerable = dev["questions"] + dev["customers"]
    generated = heading_questions(bench, HEADING_QUESTIONS)
    progress(f"ranker: {len(answerable)} questions and {len(generated)} from headings")
    groups = []
    for item in answerable + generated:
        ranking = service.rank(TENANT, bench.collection, item["q"], labels=[])
        right = np.array([_documents([p])[0] in _wanted(item) for p in ranking.passages])
        groups.append((ranking.features, right))
    ranker = fit_ranker(groups)
    service.calibration = replace(DEFAULT, ranker=tuple(float(x) for x in ranker))
    progress("abstention")
    rows, labels = [], []
    for question, label in [(i["q"], 1) for i in answerable] + [
        (q, 0) for q in dev["unanswerable"] + dev["staff_only"]
    ]:
        ranking = service.rank(TENANT, bench.collection, question, labels=[])
        if ranking.signals:
            rows.append(ranking.signals)
            labels.append(label)
    x, y = np.asarray(rows), np.asarray(labels)
    abstention = fit_logistic(x, y)
    trial = replace(service.calibration, abstention=tuple(float(v) for v in abstention))
    p = np.array([trial.answerable(r) for r in x])
    threshold = choose_threshold(p[y == 1], p[y == 0], max_false_refusals)
    note = (
        f"fitted on {path.parent.name}/{path.name} from {bench.pack.name}/bench/dev.yaml: {len(answerable)} "
        f"answerable, {len(dev['unanswerable'])} unanswerable, {len(dev['staff_only'])} staff-only questions"
    )
    cosine = ABSTENTION_FEATURES.index("cosine")
    negatives_cosine = x[y == 0][:, cosine]
    strong = (
        max(0.55, float(negatives_cosine.max()) + 0.02) if len(negatives_cosine) else DEFAULT.strong_cosine
    )
    calibration = replace(trial, threshold=threshold, strong_cosine=strong, note=note)
    calibration.save(path)
    return {
        "ranker": dict(zip(FEATURES, (round(float(w), 3) for w in ranker), strict=True)),
        "abstention": list(abstention),
        "threshold": threshold,
        "strong_cosine": strong,
        "dev_false_refusals": round(float(np.mean([not calibration.found(r) for r in x[y == 1]])), 3),
        "dev_refused_unanswerable": round(float(np.mean([not calibration.found(r) for r in x[y == 0]])), 3),
        "saved": str(path),
    }
