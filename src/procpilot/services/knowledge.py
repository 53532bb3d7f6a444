"""Knowledge: ingest documents, search them (full text + vectors, fused), answer with citations.

Documents live in the main database, per tenant and collection (a pack's id, or a name given at
ingestion). A pack's own ``knowledge/`` folder is stored once, under the shared tenant, and read by
every tenant serving the pack; what a tenant uploads stays its own. Re-ingesting a folder skips every document whose fingerprint (file bytes, access labels,
chunking and embedding model) is unchanged and removes those whose file is gone.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import UserError
from procpilot.domain.flows import Pack
from procpilot.knowledge import Chunk, Document, UnreadableDocument, chunk, read_document
from procpilot.knowledge.answers import (
    WRITTEN_SYSTEM,
    Answer,
    Passage,
    check_written,
    cited_numbers,
    from_document,
    sentences,
    written_prompt,
)
from procpilot.knowledge.documents import FORMATS
from procpilot.knowledge.ranking import Calibration, Candidate, coverage, features, weighted_terms
from procpilot.knowledge.retrieval import STOP_WORDS, fuse, query_terms
from procpilot.knowledge.siblings import plainer, siblings
from procpilot.knowledge.vocabulary import Vocabulary, stem
from procpilot.llm import ChatRequest, ModelError
from procpilot.packs.loader import load_pack
from procpilot.services.models.routing import ModelService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database
from procpilot.storage.knowledge import SHARED_TENANT, KnowledgeRepository
from procpilot.tools.context import ToolContext
from procpilot.tools.toolset import Tool
from procpilot.understanding.embeddings import Encoder, EncoderUnavailable

log = structlog.get_logger(__name__)

CHUNKING = "chunk-v1:900"  # part of every fingerprint: changing the chunker re-ingests
MODES = ("hybrid", "fts", "vector", "rrf")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

Progress = Callable[[int, int, str], None]
STORE_CHUNKS = 2048  # chunks embedded and stored together
ENCODE_SLICE = 64  # texts given to the model at once (it batches them by 32)
GENERIC = frozenset(stem(w) for w in STOP_WORDS)
# The calibrated "nothing found" decision reads how rare a question's words are in the collection and
# how far the best document leads the rest; in a handful of documents neither means much, so small
# collections keep the plain similarity floor.
CALIBRATED_FROM = 200  # chunks
# How far (in ranker score) a document the asker may not read must lead the best they may read for
# the answer to be "that is for staff" rather than what they may read.
RESTRICTED_LEAD = 1.5
VECTOR_CACHE = 200_000  # sentence and title embeddings kept (384 floats each: about 300 MB at most)


@dataclass(frozen=True)
class Ranking:
    """What a search found: the question as searched (misspellings corrected), the passages best
    first, and the signals the "nothing found" decision reads."""

    query: str
    passages: list[Passage]
    weights: dict[str, float] = field(default_factory=dict)  # the question's stems, by rarity
    signals: tuple[float, ...] = ()
    vectors: bool = False
    features: Any = None  # the ranker's features of each passage, in their order (for calibration)
    chunks: int = 0  # in the collection
    labels: tuple[str, ...] = ()  # every access label of the collection


@dataclass(frozen=True)
class CollectionStats:
    stamp: tuple[int, int, int]
    vocabulary: Vocabulary
    labels: tuple[str, ...]


@dataclass
class IngestReport:
    collection: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def brief(self) -> str:
        """One short line for a terminal: what changed, and how long it took."""
        changed = [
            f"{n} {what}"
            for n, what in (
                (len(self.added), "added"),
                (len(self.updated), "updated"),
                (len(self.removed), "removed"),
            )
            if n
        ]
        failed = f", {len(self.failed)} unreadable" if self.failed else ""
        if not changed:
            return f"documents unchanged ({self.unchanged}){failed}"
        return f"documents {', '.join(changed)}{failed}: {self.chunks} chunks in {self.seconds:.1f} s"

    def summary(self) -> str:
        return (
            f"{self.collection}: {len(self.added)} added, {len(self.updated)} updated, {self.unchanged} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed; {self.chunks} chunks in {self.seconds:.1f} s"
        )


class KnowledgeService:
    """``min_similarity``: below this cosine similarity for the best passage, nothing relevant was found."""

    def __init__(
        self,
        database: Database,
        encoder: Callable[[], Encoder] | None = None,
        models: ModelService | None = None,
        *,
        min_similarity: float = 0.3,
        calibration: Calibration | None = None,
    ) -> None:
        self.database = database
        self.encoder = encoder
        self.store_chunks = STORE_CHUNKS  # how many chunks are embedded together (bench ingest varies it)
        self.models = models
        self.min_similarity = min_similarity
        self.calibration = calibration or Calibration.load()
        self._collections: dict[tuple[str, str], CollectionStats] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._synced: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- ingestion -----------------------------------------------------------------------------

    def _model_name(self) -> str:
        if self.encoder is None:
            return "none"
        return str(getattr(self.encoder(), "name", "encoder"))

    def _repo(self, connection: Any, tenant: str) -> KnowledgeRepository:
        return KnowledgeRepository(connection, tenant, vectors=self.database.vectors)

    def ingest_folder(
        self,
        tenant: str,
        collection: str,
        root: Path,
        *,
        labels: Sequence[str] = (),
        prune: bool = True,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest every readable file under ``root`` (or ``root`` itself when it is a file)."""
        if not root.exists():
            raise UserError(f"no such file or folder: {root}")
        if root.is_file():
            files, base = [root], root.parent
        else:
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
            base = root
        return self._ingest(tenant, collection, files, base, tuple(labels), prune, progress)

    def ingest_upload(
        self, tenant: str, collection: str, filename: str, data: bytes, *, labels: Sequence[str] = ()
    ) -> IngestReport:
        """Ingest one uploaded file; other documents of the collection stay."""
        name = Path(filename).name
        if not name or Path(name).suffix.lower() not in FORMATS:
            raise UserError(
                f"{filename or 'the upload'}: unsupported format; expected one of {', '.join(FORMATS)}"
            )
        if len(data) > MAX_UPLOAD_BYTES:
            raise UserError(f"{name}: {len(data)} bytes is more than the {MAX_UPLOAD_BYTES} allowed")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            report = self._ingest(tenant, collection, [path], Path(folder), tuple(labels), False, None)
        if report.failed:
            raise UserError(report.failed[0][1])
        return report

    def sync_pack(self, pack: Pack, *, progress: Progress | None = None) -> IngestReport | None:
        """Bring the pack's ``knowledge/`` folder into its collection, shared by every tenant.

        Checked once per loaded pack in this process (a reloaded pack is checked again); only new
        and changed documents are embedded.
        """
        root = Path(pack.root) / "knowledge"
        with self._lock:
            if self._synced.get(pack.id) == id(pack):
                return None
            with self.database.transaction() as c:
                AccountRepository(c).ensure_tenant(SHARED_TENANT, "Documents of packs, read by every tenant")
            report = (
                self.ingest_folder(SHARED_TENANT, pack.id, root, progress=progress)
                if root.is_dir()
                else IngestReport(pack.id)
            )
            self._synced[pack.id] = id(pack)
        if report.added or report.updated or report.removed:
            log.info("knowledge.synced", pack=pack.id, summary=report.summary())
        return report

    def _ingest(
        self,
        tenant: str,
        collection: str,
        files: Sequence[Path],
        base: Path,
        labels: tuple[str, ...],
        prune: bool,
        progress: Progress | None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(collection)
        model = self._model_name()
        with self.database.transaction() as c:
            if not AccountRepository(c).tenant_exists(tenant):
                raise UserError(f"no tenant {tenant!r}")
            known = self._repo(c, tenant).fingerprints(collection)
        seen: set[str] = set()
        batch: list[tuple[Document, str, list[Chunk]]] = []
        pending = 0  # chunks in the batch
        stored_files = 0  # files whose documents are stored
        for done, path in enumerate(files, start=1):
            try:
                documents = read_document(path, root=base, labels=labels)
            except UnreadableDocument as error:
                report.failed.append(
                    (str(path.relative_to(base)) if path.is_relative_to(base) else path.name, str(error))
                )
                log.warning("knowledge.unreadable", error=str(error))
                documents = []
            for document in documents:
                seen.add(document.source)
                fingerprint = _fingerprint(document, model)
                if known.get(document.source) == fingerprint:
                    report.unchanged += 1
                    continue
                (report.updated if document.source in known else report.added).append(document.source)
                parts = chunk(document)
                batch.append((document, fingerprint, parts))
                pending += len(parts)
            if pending >= self.store_chunks or done == len(files):
                # Encoded together, so the model's batches hold texts of like length (see _store).
                first = stored_files

                def tick(
                    fraction: float, name: str = path.name, first: int = first, last: int = done
                ) -> None:
                    if progress:
                        progress(first + round((last - first) * fraction), len(files), name)

                report.chunks += self._store(tenant, collection, batch, tick)
                batch, pending, stored_files = [], 0, done
            elif progress:
                progress(stored_files, len(files), path.name)
        if batch:
            report.chunks += self._store(tenant, collection, batch, None)
        if prune:
            gone = sorted(set(known) - seen)
            with self.database.transaction() as c:
                repo = self._repo(c, tenant)
                for source in gone:
                    repo.delete_document(collection, source)
            report.removed = gone
        report.seconds = time.perf_counter() - started
        return report

    def _store(
        self,
        tenant: str,
        collection: str,
        batch: list[tuple[Document, str, list[Chunk]]],
        tick: Callable[[float], None] | None,
    ) -> int:
        """Embed and store a batch of documents. The texts go to the model shortest first, in
        slices of ``ENCODE_SLICE``: a slice of like lengths wastes little on padding (1.4 times the
        speed of encoding each few documents' chunks as they come), and each slice reports progress."""
        if not batch:
            return 0
        texts = [f"{p.title}\n{p.section}\n{p.text}" for _, _, parts in batch for p in parts]
        vectors: np.ndarray | None = None
        if texts and self.encoder is not None:
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            for start in range(0, len(order), ENCODE_SLICE):
                wanted = order[start : start + ENCODE_SLICE]
                encoded = self._encode([texts[i] for i in wanted])
                if encoded is None:
                    vectors = None
                    break
                if vectors is None:
                    vectors = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
                vectors[wanted] = encoded
                if tick:
                    tick(min(1.0, (start + len(wanted)) / len(order)))
        stored = 0
        with self.database.transaction() as c:
            repo = self._repo(c, tenant)
            for document, fingerprint, parts in batch:
                embeddings = None if vectors is None else vectors[stored : stored + len(parts)]
                repo.replace_document(collection, _with_fingerprint(document, fingerprint), parts, embeddings)
                stored += len(parts)
        if tick:
            tick(1.0)
        return stored

    def _encode(self, texts: Sequence[str]) -> np.ndarray | None:
        if self.encoder is None:
            return None
        try:
            return self.encoder().encode(texts, batch_size=32)
        except EncoderUnavailable as error:
            log.warning("knowledge.no_vectors", error=str(error))
            return None

    # -- reading -------------------------------------------------------------------------------

    def documents(self, tenant: str, collection: str, labels: Sequence[str] = ()) -> list[dict[str, Any]]:
        with self.database.transaction() as c:
            return self._repo(c, tenant).documents(collection, labels)

    def document(
        self, tenant: str, collection: str, document_id: int, labels: Sequence[str] = ()
    ) -> dict[str, Any]:
        with self.database.transaction() as c:
            found = self._repo(c, tenant).document(collection, document_id, labels)
        if found is None:
            raise UserError(f"no document {document_id} in {collection!r} that you may read")
        return found

    def upload(
        self, principal: Principal, collection: str, filename: str, data: bytes, labels: Sequence[str] = ()
    ) -> IngestReport:
        """A person's or system's upload into their tenant (designer, admin)."""
        principal.require(Permission.DESIGN, "uploading documents")
        return self.ingest_upload(principal.tenant, collection, filename, data, labels=labels)

    def remove(self, principal: Principal, collection: str, document_id: int) -> None:
        principal.require(Permission.DESIGN, "deleting documents")
        self.delete_by_id(principal.tenant, collection, document_id)

    def delete_by_id(self, tenant: str, collection: str, document_id: int) -> None:
        """Remove one of the tenant's own documents (a pack's shared documents are not the tenant's)."""
        with self.database.transaction() as c:
            repo = self._repo(c, tenant)
            source = repo.own_source(collection, document_id)
            if source is None:
                raise UserError(f"no document {document_id} of your own in {collection!r}")
            repo.delete_document(collection, source)

    def clear(self, tenant: str, collection: str) -> int:
        """Remove every document of a collection; how many there were."""
        with self.database.transaction() as c:
            return self._repo(c, tenant).clear(collection)

    def labels(self, tenant: str, collection: str) -> list[str]:
        """Every access label used in a collection."""
        with self.database.transaction() as c:
            return self._repo(c, tenant).labels(collection)

    def delete(self, tenant: str, collection: str, source: str) -> bool:
        with self.database.transaction() as c:
            return self._repo(c, tenant).delete_document(collection, source)

    def status(self, tenant: str, collection: str) -> dict[str, Any]:
        with self.database.transaction() as c:
            documents, chunks = self._repo(c, tenant).count(collection)
        return {
            "collection": collection,
            "documents": documents,
            "chunks": chunks,
            "vectors": self.database.vectors,
        }

    # -- search and answers --------------------------------------------------------------------

    def search(
        self,
        tenant: str,
        collection: str,
        query: str,
        *,
        labels: Sequence[str] = (),
        mode: str = "hybrid",
        limit: int = 5,
        depth: int = 30,
    ) -> list[Passage]:
        """The best passages for ``query`` that the asker may read, best first, numbered from 1."""
        return self.rank(tenant, collection, query, labels=labels, mode=mode, depth=depth).passages[:limit]

    def rank(
        self,
        tenant: str,
        collection: str,
        query: str,
        *,
        labels: Sequence[str] = (),
        mode: str = "hybrid",
        depth: int = 30,
    ) -> Ranking:
        """Both searches, then the candidates re-ranked (``hybrid``), or one search or plain reciprocal
        rank fusion (``fts``, ``vector``, ``rrf``: for comparison)."""
        if mode not in MODES:
            raise UserError(f"unknown search mode {mode!r}; expected one of {', '.join(MODES)}")
        stats = self._stats(tenant, collection)
        terms = query_terms(query)
        corrected = [stats.vocabulary.correct(t) for t in terms] if mode != "rrf" else terms
        fixes = {t: c for t, c in zip(terms, corrected, strict=True) if t != c}
        searched = _respell(query, fixes)
        vector = None
        if mode != "fts" and self.encoder is not None:
            encoded = self._encode([searched])
            vector = None if encoded is None else encoded[0]
        if mode == "vector" and vector is None:
            raise UserError("vector search needs the embedding model, which is not available")
        with self.database.transaction() as c:
            repo = self._repo(c, tenant)
            words = list(dict.fromkeys(corrected + terms))
            lexical = repo.full_text(collection, words, labels, depth) if mode != "vector" else []
            nearest = repo.nearest(collection, vector, labels, depth) if vector is not None else []
            if mode in ("fts", "vector", "rrf"):
                rankings = [r for r in ([i for i, _ in lexical], [i for i, _ in nearest]) if r]
                order = fuse(rankings)
                chunks = repo.chunks([i for i, _ in order])
                embeddings: dict[int, np.ndarray] = {}
            else:
                ids = list(dict.fromkeys([i for i, _ in nearest] + [i for i, _ in lexical]))
                chunks = repo.chunks(ids)
                embeddings = repo.embeddings(ids) if vector is not None else {}
        similarity = dict(nearest)
        if mode in ("fts", "vector", "rrf"):
            passages = [
                _passage(n, chunks[i], score, similarity.get(i))
                for n, (i, score) in enumerate([(i, s) for i, s in order if i in chunks], start=1)
            ]
            return Ranking(searched, passages, chunks=stats.stamp[0], labels=stats.labels)
        bm25 = dict(lexical)
        weights = weighted_terms(corrected, stats.vocabulary)
        ids = [i for i in ids if i in chunks]
        sentence, title = self._fine_cosines(vector, [chunks[i] for i in ids])
        candidates = [
            Candidate(
                i,
                chunks[i].document_id,
                chunks[i].title,
                f"{chunks[i].section}\n{chunks[i].text}",
                _cosine(vector, embeddings.get(i)) if vector is not None else similarity.get(i, 0.0),
                bm25.get(i),
                i in similarity,
                sentence.get(i, 0.0),
                title.get(chunks[i].title, 0.0),
            )
            for i in ids
        ]
        rows = features(candidates, weights, stats.vocabulary, GENERIC)
        scores = self.calibration.rank(rows)
        order_index = sorted(range(len(candidates)), key=lambda k: -scores[k])
        passages = [
            _passage(n, chunks[candidates[k].chunk_id], float(scores[k]), candidates[k].cosine)
            for n, k in enumerate(order_index, start=1)
        ]
        # Between close siblings, the one whose name is the other's without words the question does
        # not use comes first ("Silver Plus Account" before "Silver Plus Saver Account").
        ranked = [(p.document_id, p.title, p.score, p.source) for p in passages]
        plain = plainer(weights, ranked, GENERIC, margin=self.calibration.sibling_margin)
        if plain is not None:
            moved = [k for k, p in zip(order_index, passages, strict=True) if p.document_id == plain]
            order_index = moved + [k for k in order_index if k not in moved]
            passages = [p for p in passages if p.document_id == plain] + [
                p for p in passages if p.document_id != plain
            ]
            passages = [replace(p, n=n) for n, p in enumerate(passages, start=1)]
        signals = _abstention_signals(
            passages, candidates, order_index, lexical, nearest, weights, stats.vocabulary, corrected
        )
        return Ranking(
            searched,
            passages,
            weights,
            signals,
            vector is not None,
            rows[order_index],
            stats.stamp[0],
            stats.labels,
        )

    def _fine_cosines(
        self, vector: np.ndarray | None, chunks: Sequence[Any]
    ) -> tuple[dict[int, float], dict[str, float]]:
        """The best cosine of each chunk's sentences, and of each title, to the question. Sentence and
        title embeddings are computed once per process and kept (bounded)."""
        if vector is None or self.encoder is None:
            return {}, {}
        parts = {piece.id: sentences(piece.text) for piece in chunks}
        wanted = list(
            dict.fromkeys(
                t for piece in chunks for t in [piece.title, *parts[piece.id]] if t not in self._vectors
            )
        )
        if wanted:
            encoded = self._encode(wanted)
            if encoded is None:
                return {}, {}
            if len(self._vectors) + len(wanted) > VECTOR_CACHE:
                self._vectors.clear()
            self._vectors.update(zip(wanted, encoded, strict=True))
        sentence = {
            piece.id: max((float(self._vectors[p] @ vector) for p in parts[piece.id]), default=0.0)
            for piece in chunks
        }
        title = {piece.title: float(self._vectors[piece.title] @ vector) for piece in chunks}
        return sentence, title

    def relevant(self, query: str, passages: Sequence[Passage], ranking: Ranking | None = None) -> bool:
        """Whether the best passages answer anything: by the calibrated model over the ranking's
        signals (collections of ``CALIBRATED_FROM`` chunks or more), else by the similarity floor, else
        (no vectors) by shared words."""
        if not passages:
            return False
        if ranking is not None and ranking.signals and ranking.vectors and ranking.chunks >= CALIBRATED_FROM:
            return self.calibration.found(ranking.signals)
        similarities = [p.similarity for p in passages if p.similarity is not None]
        if similarities:
            return max(similarities) >= self.min_similarity
        terms = {t[:5] for t in query_terms(query)}
        words = {w[:5] for w in query_terms(passages[0].title + " " + passages[0].text, limit=500)}
        return bool(terms) and len(terms & words) >= max(1, len(terms) // 2)

    def answer(
        self,
        tenant: str,
        collection: str,
        query: str,
        *,
        labels: Sequence[str] = (),
        pack: Pack | None = None,
        conversation_id: str | None = None,
    ) -> Answer:
        """A cited answer from the collection; ``found=False`` when nothing relevant is there (then
        ``restricted`` says whether a document the asker may not read would have answered it), or
        ``choices`` when similar documents fit and the question does not say which one it means
        (asking again with the chosen title added answers from that one)."""
        ranking = self.rank(tenant, collection, query, labels=labels)
        passages = ranking.passages
        found = self.relevant(query, passages, ranking)
        if self._restricted(tenant, collection, query, labels, ranking, found):
            return Answer(False, "", passages=tuple(passages[:5]), restricted=True)
        if not found:
            return Answer(False, "", passages=tuple(passages[:5]))
        ranked = [(p.document_id, p.title, p.score, p.source) for p in passages]
        options = siblings(ranking.weights, ranked, GENERIC, margin=self.calibration.sibling_margin)
        if options:
            return Answer(False, "", passages=tuple(passages[:5]), choices=tuple(options))
        written = self._written(tenant, query, passages[:5], pack, conversation_id)
        if written is not None and written.found:
            return written
        best = passages[0].document_id
        with self.database.transaction() as c:
            parts = self._repo(c, tenant).document_chunks(best)
        document = [_passage(0, part, 0.0, None) for part in parts] or [
            p for p in passages if p.document_id == best
        ]
        answer = from_document(ranking.query, document, scorer=self._sentence_scorer())
        note = written.note if written is not None else ""
        return replace(answer, note=note, passages=tuple(passages[:5]))

    def _restricted(
        self, tenant: str, collection: str, query: str, labels: Sequence[str], readable: Ranking, found: bool
    ) -> bool:
        """Whether documents the asker may not read answer ``query`` (they are told it is for staff):
        searched as someone who may read everything, the best document is one the asker may not
        read, it is found, and it leads what the asker may read (``readable``; ``found``: whether that
        answers) by more than ``RESTRICTED_LEAD``."""
        every = readable.labels
        if not set(every) - set(labels):
            return False
        ranking = self.rank(tenant, collection, query, labels=every)
        if not ranking.passages or not self.relevant(query, ranking.passages, ranking):
            return False
        top = ranking.passages[0]
        if found and readable.passages and top.score - readable.passages[0].score <= RESTRICTED_LEAD:
            return False
        with self.database.transaction() as c:
            return self._repo(c, tenant).document(collection, top.document_id, labels) is None

    def _dictionary(self) -> frozenset[str]:
        if self.encoder is None:
            return frozenset()
        known = getattr(self.encoder(), "known_words", None)
        return known() if callable(known) else frozenset()

    def _stats(self, tenant: str, collection: str) -> CollectionStats:
        """The collection's vocabulary and labels, rebuilt when its documents change."""
        with self.database.transaction() as c:
            repo = self._repo(c, tenant)
            stamp = repo.stamp(collection)
            key = (tenant, collection)
            cached = self._collections.get(key)
            if cached is not None and cached.stamp == stamp:
                return cached
            vocabulary = Vocabulary(repo.texts(collection), dictionary=self._dictionary())
            stats = CollectionStats(stamp, vocabulary, tuple(repo.labels(collection)))
        self._collections[key] = stats
        return stats

    def _sentence_scorer(self) -> Callable[[str, Sequence[str]], Sequence[float]] | None:
        if self.encoder is None:
            return None

        def score(question: str, candidates: Sequence[str]) -> Sequence[float]:
            vectors = self._encode([question, *candidates])
            if vectors is None:
                return [0.0] * len(candidates)
            return [float(x) for x in vectors[1:] @ vectors[0]]

        return score

    def _written(
        self,
        tenant: str,
        query: str,
        passages: Sequence[Passage],
        pack: Pack | None,
        conversation_id: str | None,
    ) -> Answer | None:
        """The configured model's answer, if a model serves the ``knowledge`` use and its citations hold."""
        if self.models is None or pack is None:
            return None
        assignment = self.models.registry.assignment(tenant, pack, "knowledge")
        if assignment is None:
            return None
        request = ChatRequest.of(("system", WRITTEN_SYSTEM), ("user", written_prompt(query, passages)))
        name = assignment.model.name
        try:
            text = self.models.call(assignment, request, tenant=tenant, conversation_id=conversation_id).text
        except ModelError as error:
            log.info("knowledge.model_failed", model=name, error=str(error))
            return Answer(False, "", mode="written", model=name, note=str(error))
        problem = check_written(text, passages)
        if problem:
            log.info("knowledge.answer_refused", model=name, problem=problem)
            return Answer(False, "", mode="written", model=name, note=problem)
        numbers = set(cited_numbers(text))
        cited = tuple(p for p in passages if p.n in numbers)
        return Answer(True, text.strip(), cited, "", "written", name, "", tuple(passages))


def _passage(n: int, chunk: Any, score: float, similarity: float | None) -> Passage:
    return Passage(
        n,
        chunk.id,
        chunk.document_id,
        chunk.source,
        chunk.title,
        chunk.section,
        chunk.text,
        score,
        similarity,
    )


def _cosine(vector: np.ndarray, other: np.ndarray | None) -> float:
    if other is None:
        return 0.0
    norm = float(np.linalg.norm(vector) * np.linalg.norm(other)) or 1.0
    return float(np.dot(vector, other)) / norm


def _respell(text: str, fixes: dict[str, str]) -> str:
    """``text`` with each misspelt word replaced by the word the collection knows."""
    if not fixes:
        return text
    return re.sub(r"[^\W_]+", lambda m: fixes.get(m.group(0).lower(), m.group(0)), text)


def _abstention_signals(
    passages: Sequence[Passage],
    candidates: Sequence[Candidate],
    order: Sequence[int],
    lexical: Sequence[tuple[int, float]],
    nearest: Sequence[tuple[int, float]],
    weights: dict[str, float],
    vocabulary: Vocabulary,
    terms: Sequence[str],
) -> tuple[float, ...]:
    """ABSTENTION_FEATURES of a ranking: how good the best document is and how sure the searches are."""
    if not passages:
        return ()
    top = passages[0].document_id
    others = [p.score for p in passages if p.document_id != top]
    chunks_of_top = [candidates[k] for k in order if candidates[k].document_id == top]
    by_chunk = {c.chunk_id: c.document_id for c in candidates}
    first_lexical = {by_chunk.get(i) for i, _ in lexical[:10]}
    first_vector = {by_chunk.get(i) for i, _ in nearest[:10]}
    text = passages[0].title + "\n" + "\n".join(c.text for c in chunks_of_top)
    # Words no document uses: a name the dictionary does not know either ("zelle", "etfs") says more
    # than an everyday word the documents happen not to use ("son", "hook").
    unknown = sum(0.5 if t in vocabulary.dictionary else 1.0 for t in vocabulary.unknown(terms))
    return (
        passages[0].score,
        max(c.cosine for c in chunks_of_top),
        passages[0].score - (others[0] if others else passages[-1].score - 1.0),
        float(top in first_lexical) + float(top in first_vector),
        coverage(weights, text),
        unknown / max(1, len(terms)),
    )


def answer_payload(answer: Answer, collection: str, query: str = "") -> dict[str, Any]:
    """The answer as the ``search_knowledge`` tool returns it to flows and the API returns it."""
    return {
        "found": answer.found,
        "text": answer.text,
        "mode": answer.mode,
        "model": answer.model,
        "highlight": answer.highlight,
        "restricted": answer.restricted,
        # Similar documents the question could mean: a button each, which asks again naming it.
        "choices": [
            {"document_id": document_id, "title": title, "payload": f"{query} ({title})"}
            for document_id, title in answer.choices
        ],
        "citations": [
            {
                "n": p.n,
                "title": p.title,
                "section": p.section,
                "label": p.label,
                "source": p.source,
                "document_id": p.document_id,
                "url": f"/api/knowledge/{collection}/documents/{p.document_id}",
                # The document as a person reads it, at the cited passage.
                "page": f"/knowledge/{collection}/documents/{p.document_id}#chunk-{p.chunk_id}",
            }
            for p in answer.citations
        ],
    }


def ingest_target(path: Path, collection: str | None) -> tuple[str, Path]:
    """(collection, folder) for ``procpilot kb ingest PATH``: a pack's knowledge, or any folder or file."""
    if (path / "pack.yaml").is_file():
        pack = load_pack(path).pack
        return collection or pack.id, path / "knowledge"
    if not path.exists():
        raise UserError(f"no such pack, folder or file: {path}")
    if not collection:
        raise UserError(f"{path} is not a pack: name the collection to ingest it into with --collection")
    return collection, path


def knowledge_tool(service: KnowledgeService, pack: Pack) -> Tool:
    """The built-in ``search_knowledge`` tool of a pack: its own collection, the asker's labels."""

    def search_knowledge(ctx: ToolContext, query: str) -> dict[str, Any]:
        service.sync_pack(pack)
        answer = service.answer(
            ctx.tenant, pack.id, query, labels=ctx.roles, pack=pack, conversation_id=ctx.conversation_id
        )
        return answer_payload(answer, pack.id, query)

    return Tool(
        name="search_knowledge",
        description="Answer a question from the pack's documents, with citations.",
        writes=False,
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string", "maxLength": 2000}},
            "required": ["query"],
            "additionalProperties": False,
        },
        fn=search_knowledge,
        wants_context=True,
        # The first question of a tenant may ingest the pack's documents (``procpilot setup`` does
        # it ahead for the default tenant).
        timeout=120.0,
    )


def _fingerprint(document: Document, model: str) -> str:
    key = f"{document.fingerprint}|{','.join(sorted(document.labels))}|{CHUNKING}|{model}"
    return hashlib.sha256(key.encode()).hexdigest()


def _with_fingerprint(document: Document, fingerprint: str) -> Document:
    return Document(document.source, document.title, document.text, document.labels, fingerprint)
