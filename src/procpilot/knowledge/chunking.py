"""Cutting a document into chunks that follow its structure.

Sections start at headings; a chunk never spans two sections, and carries the heading path
("Fees > International wires") so an answer can cite where it came from. Inside a section,
paragraphs are packed up to ``max_chars``; a paragraph longer than that is cut at sentence ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from procpilot.knowledge.documents import Document


@dataclass(frozen=True)
class Chunk:
    source: str
    title: str
    section: str
    text: str
    labels: tuple[str, ...]
    ordinal: int


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) pairs, in order."""
    path: list[tuple[int, str]] = []
    found: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        heading = re.match(r"^(#{1,6})\s+(.*\S)\s*$", line)
        if heading:
            level = len(heading.group(1))
            path = [(lvl, name) for lvl, name in path if lvl < level] + [
                (level, heading.group(2).strip("# "))
            ]
            found.append((" > ".join(name for _, name in path), []))
        else:
            found[-1][1].append(line)
    return [(name, "\n".join(lines).strip()) for name, lines in found if "\n".join(lines).strip()]


def _pieces(body: str, max_chars: int) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    pieces: list[str] = []
    for paragraph in paragraphs:
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        sentence_run = ""
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            while len(sentence) > max_chars:  # a single endless "sentence": cut it hard
                pieces.append(sentence[:max_chars])
                sentence = sentence[max_chars:]
            if sentence_run and len(sentence_run) + 1 + len(sentence) > max_chars:
                pieces.append(sentence_run)
                sentence_run = sentence
            else:
                sentence_run = f"{sentence_run} {sentence}".strip()
        if sentence_run:
            pieces.append(sentence_run)
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 2 + len(piece) <= max_chars:
            packed[-1] = f"{packed[-1]}\n\n{piece}"
        else:
            packed.append(piece)
    return packed


def chunk(document: Document, *, max_chars: int = 900) -> list[Chunk]:
    """The document's chunks, each within one section and at most ``max_chars`` long."""
    chunks: list[Chunk] = []
    for section, body in _sections(document.text):
        for piece in _pieces(body, max_chars):
            chunks.append(
                Chunk(document.source, document.title, section, piece, document.labels, len(chunks))
            )
    return chunks
