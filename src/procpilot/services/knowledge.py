"""A small full-text index over a pack's ``knowledge/`` folder (SQLite FTS5, in memory).

This backs the built-in ``search_knowledge`` tool: the best matching section, its most relevant
sentences, and a citation. The Knowledge work replaces it with hybrid retrieval.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import structlog

from procpilot.knowledge import UnreadableDocument, chunk, read_document
from procpilot.knowledge.documents import FORMATS

log = structlog.get_logger(__name__)

_WORD = re.compile(r"[a-z0-9]{3,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "what",
        "how",
        "when",
        "where",
        "why",
        "who",
        "which",
        "can",
        "could",
        "does",
        "are",
        "was",
        "were",
        "with",
        "this",
        "that",
        "have",
        "has",
        "from",
        "about",
        "into",
        "will",
        "would",
        "should",
        "there",
        "their",
        "them",
        "then",
        "than",
        "our",
        "yes",
        "not",
        "any",
        "all",
    ]
)


class KnowledgeIndex:
    """The chunks of every readable document under ``root``, searchable with BM25.

    Documents are read and cut by ``procpilot.knowledge`` (headings, then paragraphs), so every
    format it reads is searchable here too; a file that cannot be read is logged and skipped.
    """

    def __init__(self, root: Path) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.lock = threading.Lock()
        self.db.execute("CREATE VIRTUAL TABLE sections USING fts5(source, title, body)")
        self.count = 0
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() not in FORMATS:
                continue
            try:
                documents = read_document(path, root=root)
            except UnreadableDocument as error:
                log.warning("knowledge.unreadable", error=str(error))
                continue
            for document in documents:
                for piece in chunk(document):
                    # Cite the innermost heading ("Returns"), or the document's title.
                    title = piece.section.split(" > ")[-1] if piece.section else piece.title
                    self.db.execute(
                        "INSERT INTO sections VALUES (?, ?, ?)", (piece.source, title, piece.text)
                    )
                    self.count += 1

    def search(self, query: str) -> dict[str, Any]:
        """``{"found": bool, "text": str, "citations": [{"title", "source"}]}``."""
        terms = [t for t in _WORD.findall(query.lower()) if t not in _STOP]
        if not terms or not self.count:
            return {"found": False, "text": "", "citations": []}
        match = " OR ".join(f'"{t}"' for t in terms)
        with self.lock:
            row = self.db.execute(
                "SELECT source, title, body, bm25(sections, 0, 3, 1) AS score FROM sections "
                "WHERE sections MATCH ? ORDER BY score LIMIT 1",
                (match,),
            ).fetchone()
        if row is None:
            return {"found": False, "text": "", "citations": []}
        source, title, body, _ = row
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
        sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p)]
        ranked = sorted(
            (s for s in sentences if s.strip()),
            key=lambda s: -sum(1 for t in terms if t in s.lower()),
        )
        best = [s.strip(" -*") for s in ranked[:2] if any(t in s.lower() for t in terms)]
        text = " ".join(best) if best else body[:300]
        return {"found": True, "text": text, "citations": [{"title": title, "source": source}]}
