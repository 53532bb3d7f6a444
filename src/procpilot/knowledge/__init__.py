"""Knowledge: reading the organisation's documents and cutting them into citable chunks.

    read_document   Markdown, HTML, PDF, DOCX, plain text and JSON -> Documents (Markdown-ish text)
    chunk           a Document -> Chunks by structure: headings, then paragraphs, then sentences

Retrieval (full text + vectors, fused, filtered by tenant and access labels) builds on these.
"""

from procpilot.knowledge.chunking import Chunk, chunk
from procpilot.knowledge.documents import Document, UnreadableDocument, read_document

__all__ = ["Chunk", "Document", "UnreadableDocument", "chunk", "read_document"]
