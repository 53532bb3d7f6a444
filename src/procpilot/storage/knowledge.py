"""Knowledge documents and chunks of one tenant, and the two searches over them.

Both searches select only the tenant's rows in one collection that the asker may read, inside the
SQL, before ranking: a document without labels is readable by everyone in the tenant, a document
with labels by those holding at least one of them.

    full_text  SQLite FTS5 (BM25) or PostgreSQL full-text search (ts_rank)
    nearest    cosine similarity by sqlite-vec or pgvector; elsewhere an exact scan in NumPy over
               the rows the same filtered query returns
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from procpilot.knowledge import Chunk, Document
from procpilot.storage.tables import kb_chunks, kb_documents, kb_labels


@dataclass(frozen=True)
class StoredChunk:
    id: int
    document_id: int
    source: str
    title: str
    section: str
    text: str
    ordinal: int


_VISIBLE = (
    "(NOT EXISTS (SELECT 1 FROM kb_labels l WHERE l.document_id = c.document_id)"
    " OR EXISTS (SELECT 1 FROM kb_labels l WHERE l.document_id = c.document_id AND l.label IN :labels))"
)
_SCOPE = "c.tenant_id IN (:tenant, :shared) AND c.collection = :collection"
# Documents of a pack's own knowledge/ folder are the same for every tenant serving the pack: they
# are stored once under this tenant and read by all. A tenant's own uploads stay its own.
SHARED_TENANT = "_pack"


def _query(sql: str) -> sa.TextClause:
    return sa.text(sql).bindparams(sa.bindparam("labels", expanding=True, type_=sa.String()))


class KnowledgeRepository:
    """One tenant's knowledge. ``vectors`` is ``Database.vectors``: sqlite-vec, pgvector or python."""

    def __init__(self, connection: sa.Connection, tenant_id: str, *, vectors: str = "python") -> None:
        self.c = connection
        self.tenant = tenant_id
        self.vectors = vectors
        self.sqlite = connection.dialect.name == "sqlite"

    # -- writing -------------------------------------------------------------------------------

    def fingerprints(self, collection: str) -> dict[str, str]:
        rows = self.c.execute(
            sa.select(kb_documents.c.source, kb_documents.c.fingerprint).where(
                kb_documents.c.tenant_id == self.tenant, kb_documents.c.collection == collection
            )
        )
        return {source: fingerprint for source, fingerprint in rows}

    def replace_document(
        self,
        collection: str,
        document: Document,
        chunks: Sequence[Chunk],
        embeddings: np.ndarray | None,
    ) -> int:
        """Store a document and its chunks, replacing an earlier version from the same source."""
        self.delete_document(collection, document.source)
        document_id = self.c.execute(
            kb_documents.insert()
            .values(
                tenant_id=self.tenant,
                collection=collection,
                source=document.source,
                title=document.title,
                fingerprint=document.fingerprint,
                text=document.text,
                labels=list(document.labels),
            )
            .returning(kb_documents.c.id)
        ).scalar_one()
        for label in sorted(set(document.labels)):
            self.c.execute(
                kb_labels.insert().values(document_id=document_id, label=label, tenant_id=self.tenant)
            )
        for index, piece in enumerate(chunks):
            vector = None if embeddings is None else np.asarray(embeddings[index], dtype=np.float32)
            chunk_id = self.c.execute(
                kb_chunks.insert()
                .values(
                    tenant_id=self.tenant,
                    collection=collection,
                    document_id=document_id,
                    ordinal=piece.ordinal,
                    title=piece.title,
                    section=piece.section,
                    text=piece.text,
                    embedding=None if vector is None else vector.tobytes(),
                )
                .returning(kb_chunks.c.id)
            ).scalar_one()
            if self.sqlite:
                self.c.execute(
                    sa.text(
                        "INSERT INTO kb_fts (rowid, title, section, text, tenant_id) VALUES (:id, :t, :s, :x, :n)"
                    ),
                    {"id": chunk_id, "t": piece.title, "s": piece.section, "x": piece.text, "n": self.tenant},
                )
            elif self.vectors == "pgvector" and vector is not None:
                self.c.execute(
                    sa.text("UPDATE kb_chunks SET embedding_vec = CAST(:v AS vector) WHERE id = :id"),
                    {"v": _pg_vector(vector), "id": chunk_id},
                )
        return int(document_id)

    def delete_document(self, collection: str, source: str) -> bool:
        document_id = self.c.execute(
            sa.select(kb_documents.c.id).where(
                kb_documents.c.tenant_id == self.tenant,
                kb_documents.c.collection == collection,
                kb_documents.c.source == source,
            )
        ).scalar()
        if document_id is None:
            return False
        if self.sqlite:
            self.c.execute(
                sa.text(
                    "DELETE FROM kb_fts WHERE rowid IN (SELECT id FROM kb_chunks WHERE document_id = :d)"
                ),
                {"d": document_id},
            )
        # Explicit rather than relying on ON DELETE CASCADE, which SQLite honours only with the pragma.
        self.c.execute(kb_chunks.delete().where(kb_chunks.c.document_id == document_id))
        self.c.execute(kb_labels.delete().where(kb_labels.c.document_id == document_id))
        self.c.execute(kb_documents.delete().where(kb_documents.c.id == document_id))
        return True

    def own_source(self, collection: str, document_id: int) -> str | None:
        """The source of one of this tenant's own documents (never a shared one)."""
        return self.c.execute(
            sa.select(kb_documents.c.source).where(
                kb_documents.c.id == document_id,
                kb_documents.c.tenant_id == self.tenant,
                kb_documents.c.collection == collection,
            )
        ).scalar()

    def clear(self, collection: str) -> int:
        sources = list(self.fingerprints(collection))
        for source in sources:
            self.delete_document(collection, source)
        return len(sources)

    # -- reading -------------------------------------------------------------------------------

    def documents(self, collection: str, labels: Sequence[str]) -> list[dict[str, Any]]:
        rows = self.c.execute(
            _query(
                "SELECT c.id, c.source, c.title, c.labels, c.updated_at,"
                " (SELECT count(*) FROM kb_chunks k WHERE k.document_id = c.id) AS chunks"
                " FROM kb_documents c WHERE c.tenant_id IN (:tenant, :shared) AND c.collection = :collection AND "
                + _VISIBLE.replace("c.document_id", "c.id")
                + " ORDER BY c.source"
            ),
            {
                "tenant": self.tenant,
                "shared": SHARED_TENANT,
                "collection": collection,
                "labels": list(labels),
            },
        ).mappings()
        return [
            {**dict(row), "labels": _labels(row["labels"]), "updated_at": str(row["updated_at"])}
            for row in rows
        ]

    def document(self, collection: str, document_id: int, labels: Sequence[str]) -> dict[str, Any] | None:
        """A document the asker may read, with its chunks; None if absent or not readable."""
        row = (
            self.c.execute(
                _query(
                    "SELECT c.id, c.source, c.title, c.text, c.labels FROM kb_documents c"
                    " WHERE c.id = :id AND c.tenant_id IN (:tenant, :shared) AND c.collection = :collection AND "
                    + _VISIBLE.replace("c.document_id", "c.id")
                ),
                {
                    "id": document_id,
                    "tenant": self.tenant,
                    "shared": SHARED_TENANT,
                    "collection": collection,
                    "labels": list(labels),
                },
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        chunks = self.c.execute(
            sa.select(kb_chunks.c.id, kb_chunks.c.ordinal, kb_chunks.c.section, kb_chunks.c.text)
            .where(kb_chunks.c.document_id == document_id)
            .order_by(kb_chunks.c.ordinal)
        ).mappings()
        return {**dict(row), "labels": _labels(row["labels"]), "chunks": [dict(c) for c in chunks]}

    def labels(self, collection: str) -> list[str]:
        rows = self.c.execute(
            sa.select(kb_labels.c.label)
            .distinct()
            .join(kb_documents, kb_documents.c.id == kb_labels.c.document_id)
            .where(
                kb_documents.c.tenant_id.in_([self.tenant, SHARED_TENANT]),
                kb_documents.c.collection == collection,
            )
        )
        return sorted(label for (label,) in rows)

    def count(self, collection: str) -> tuple[int, int]:
        """(documents, chunks) in a collection."""
        documents = self.c.execute(
            sa.select(sa.func.count()).where(
                kb_documents.c.tenant_id == self.tenant, kb_documents.c.collection == collection
            )
        ).scalar_one()
        chunks = self.c.execute(
            sa.select(sa.func.count()).where(
                kb_chunks.c.tenant_id == self.tenant, kb_chunks.c.collection == collection
            )
        ).scalar_one()
        return int(documents), int(chunks)

    def _stored(self) -> sa.Select[Any]:
        """Chunks with their document's source, as StoredChunk reads them, of this tenant or shared."""
        return (
            sa.select(
                kb_chunks.c.id,
                kb_chunks.c.document_id,
                kb_documents.c.source,
                kb_chunks.c.title,
                kb_chunks.c.section,
                kb_chunks.c.text,
                kb_chunks.c.ordinal,
            )
            .join(kb_documents, kb_documents.c.id == kb_chunks.c.document_id)
            .where(kb_chunks.c.tenant_id.in_([self.tenant, SHARED_TENANT]))
        )

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        rows = self.c.execute(self._stored().where(kb_chunks.c.id.in_(list(ids))))
        return {row.id: StoredChunk(*row) for row in rows}

    def embeddings(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored embedding of each chunk that has one."""
        if not ids:
            return {}
        rows = self.c.execute(
            sa.select(kb_chunks.c.id, kb_chunks.c.embedding).where(
                kb_chunks.c.id.in_(list(ids)),
                kb_chunks.c.tenant_id.in_([self.tenant, SHARED_TENANT]),
                kb_chunks.c.embedding.is_not(None),
            )
        )
        return {int(i): np.frombuffer(bytes(e), dtype=np.float32) for i, e in rows}

    def stamp(self, collection: str) -> tuple[int, int, int]:
        """(chunks, highest chunk id, highest document id) of the collection as this tenant reads it:
        changes whenever a document is added, replaced or removed."""
        row = self.c.execute(
            sa.select(
                sa.func.count(), sa.func.max(kb_chunks.c.id), sa.func.max(kb_chunks.c.document_id)
            ).where(
                kb_chunks.c.tenant_id.in_([self.tenant, SHARED_TENANT]), kb_chunks.c.collection == collection
            )
        ).one()
        return int(row[0]), int(row[1] or 0), int(row[2] or 0)

    def texts(self, collection: str) -> list[str]:
        """Every chunk's title, section and text (whoever may read it): the collection's vocabulary."""
        rows = self.c.execute(
            sa.select(kb_chunks.c.title, kb_chunks.c.section, kb_chunks.c.text).where(
                kb_chunks.c.tenant_id.in_([self.tenant, SHARED_TENANT]), kb_chunks.c.collection == collection
            )
        )
        return [f"{t}\n{s}\n{x}" for t, s, x in rows]

    def document_chunks(self, document_id: int) -> list[StoredChunk]:
        """The chunks of one document, in order."""
        rows = self.c.execute(
            self._stored().where(kb_chunks.c.document_id == document_id).order_by(kb_chunks.c.ordinal)
        )
        return [StoredChunk(*row) for row in rows]

    # -- searching -----------------------------------------------------------------------------

    def full_text(
        self, collection: str, terms: Sequence[str], labels: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        """(chunk id, score) best first; ``terms`` are plain words (letters and digits only)."""
        words = [t for t in terms if t.isalnum()]
        if not words:
            return []
        params = {
            "tenant": self.tenant,
            "shared": SHARED_TENANT,
            "collection": collection,
            "labels": list(labels),
            "limit": limit,
        }
        if self.sqlite:
            # The FTS index is searched first (MATERIALIZED keeps SQLite from probing it once per
            # chunk), then the same statement filters by tenant, collection and labels and ranks.
            sql = (
                "WITH hits AS MATERIALIZED (SELECT rowid AS id, bm25(kb_fts, 2.0, 2.0, 1.0) AS rank"
                " FROM kb_fts WHERE kb_fts MATCH :match)"
                " SELECT c.id, -hits.rank AS score FROM hits JOIN kb_chunks c ON c.id = hits.id"
                f" WHERE {_SCOPE} AND {_VISIBLE} ORDER BY hits.rank LIMIT :limit"
            )
            params["match"] = " OR ".join(f'"{w}"' for w in words)
        else:
            sql = (
                "SELECT c.id, ts_rank(c.search_vector, q, 1) AS score"
                " FROM kb_chunks c, to_tsquery('english', :match) q"
                f" WHERE c.search_vector @@ q AND {_SCOPE} AND {_VISIBLE}"
                " ORDER BY score DESC LIMIT :limit"
            )
            params["match"] = " | ".join(words)
        return [(int(i), float(s)) for i, s in self.c.execute(_query(sql), params)]

    def nearest(
        self, collection: str, vector: np.ndarray, labels: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) best first."""
        query = np.asarray(vector, dtype=np.float32)
        params: dict[str, Any] = {
            "tenant": self.tenant,
            "shared": SHARED_TENANT,
            "collection": collection,
            "labels": list(labels),
            "limit": limit,
        }
        if self.vectors == "sqlite-vec" and self.sqlite:
            sql = (
                "SELECT c.id, 1.0 - vec_distance_cosine(c.embedding, :vector) AS score FROM kb_chunks c"
                f" WHERE c.embedding IS NOT NULL AND {_SCOPE} AND {_VISIBLE}"
                " ORDER BY score DESC LIMIT :limit"
            )
            params["vector"] = query.tobytes()
            return [(int(i), float(s)) for i, s in self.c.execute(_query(sql), params)]
        if self.vectors == "pgvector" and not self.sqlite:
            sql = (
                "SELECT c.id, 1.0 - (c.embedding_vec <=> CAST(:vector AS vector)) AS score FROM kb_chunks c"
                f" WHERE c.embedding_vec IS NOT NULL AND {_SCOPE} AND {_VISIBLE}"
                " ORDER BY c.embedding_vec <=> CAST(:vector AS vector) LIMIT :limit"
            )
            params["vector"] = _pg_vector(query)
            return [(int(i), float(s)) for i, s in self.c.execute(_query(sql), params)]
        rows = self.c.execute(
            _query(
                "SELECT c.id, c.embedding FROM kb_chunks c"
                f" WHERE c.embedding IS NOT NULL AND {_SCOPE} AND {_VISIBLE}"
            ),
            params,
        ).all()
        if not rows:
            return []
        matrix = np.frombuffer(b"".join(bytes(r.embedding) for r in rows), dtype=np.float32).reshape(
            len(rows), -1
        )
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
        scores = matrix @ query / np.where(norms == 0, 1.0, norms)
        best = np.argsort(-scores)[:limit]
        return [(int(rows[i].id), float(scores[i])) for i in best]


def _labels(value: Any) -> list[str]:
    """A JSON column read through a text query: SQLite hands back the JSON text."""
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in value or []]


def _pg_vector(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"
