"""Reading documents of many formats into one shape: a title and Markdown-ish text.

Headings become ``#`` lines whatever the format (HTML h1-h6, DOCX heading styles, Markdown), so
chunking can follow the document's structure. ``fingerprint`` is a hash of the file's bytes, so
re-ingestion can skip what did not change. Access labels come from the caller or, for Markdown,
from front matter (``labels: [internal, finance]``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any

from procpilot.domain.errors import UserError

FORMATS = (".md", ".markdown", ".txt", ".html", ".htm", ".json", ".pdf", ".docx")


class UnreadableDocument(UserError):
    """A document could not be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Document:
    source: str
    title: str
    text: str
    labels: tuple[str, ...] = ()
    fingerprint: str = ""


def read_document(path: Path, *, root: Path | None = None, labels: tuple[str, ...] = ()) -> list[Document]:
    """The documents in one file (a JSON file may hold several); raises UnreadableDocument."""
    source = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else path.name
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UnreadableDocument(
            f"{source}: unsupported format {suffix or '(none)'}; expected one of {', '.join(FORMATS)}"
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UnreadableDocument(f"{source}: cannot read ({error.strerror})") from None
    fingerprint = hashlib.sha256(raw).hexdigest()
    try:
        if suffix == ".json":
            return _json_documents(raw, source, labels, fingerprint)
        if suffix in (".md", ".markdown", ".txt"):
            text, front = _front_matter(raw.decode("utf-8"))
            labels = tuple(front.get("labels", ())) or labels
            title = (
                front.get("title") or _first_heading(text) or path.stem.replace("_", " ").replace("-", " ")
            )
        elif suffix in (".html", ".htm"):
            text, html_title = _html_to_text(raw.decode("utf-8", errors="replace"))
            title = html_title or _first_heading(text) or path.stem
        elif suffix == ".pdf":
            text, title = _pdf_to_text(raw), ""
            title = title or _first_line(text) or path.stem
        else:
            text = _docx_to_text(raw)
            title = _first_heading(text) or path.stem
    except UnicodeDecodeError:
        raise UnreadableDocument(f"{source}: not UTF-8 text") from None
    except UnreadableDocument:
        raise
    except Exception as error:  # a library's parse error: report it with the file's name
        raise UnreadableDocument(f"{source}: cannot parse ({type(error).__name__}: {error})") from None
    return [Document(source, str(title).strip(), text.strip(), tuple(labels), fingerprint)]


def _first_heading(text: str) -> str:
    match = re.search(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]


def _front_matter(text: str) -> tuple[str, dict[str, Any]]:
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.DOTALL)
    if not match:
        return text, {}
    meta: dict[str, Any] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key.strip()] = [v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()]
        elif key.strip():
            meta[key.strip()] = value.strip("'\"")
    return text[match.end() :], meta


def _json_documents(raw: bytes, source: str, labels: tuple[str, ...], fingerprint: str) -> list[Document]:
    data = json.loads(raw)
    items = data if isinstance(data, list) else [data]
    documents = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and ("content" in item or "text" in item):
            body = str(item.get("content") or item.get("text") or "")
            title = str(item.get("title") or item.get("id") or f"{source} #{index + 1}")
            item_labels = tuple(item.get("labels") or ()) or labels
            name = f"{source}#{item['id']}" if "id" in item and len(items) > 1 else source
            documents.append(Document(name, title, body.strip(), item_labels, fingerprint))
        else:
            documents.append(
                Document(source, source, json.dumps(item, indent=2, ensure_ascii=False), labels, fingerprint)
            )
    return documents


class _HTMLText(HTMLParser):
    BLOCKS = {"p", "div", "li", "br", "tr", "section", "article", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "nav", "footer"):
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n" if tag not in ("li", "br") else "\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "nav", "footer"):
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_to_text(html: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(html)
    text = re.sub(r"\n{3,}", "\n\n", "".join(parser.parts))
    text = "\n".join(line.strip() for line in text.splitlines())
    return text.strip(), " ".join("".join(parser.title).split())


def _pdf_to_text(raw: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(raw))
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    return "\n\n".join(page for page in pages if page)


def _docx_to_text(raw: bytes) -> str:
    import docx

    document = docx.Document(BytesIO(raw))
    lines = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = re.fullmatch(r"Heading (\d)", style)
        if level:
            lines.append("#" * int(level.group(1)) + " " + text)
        elif style == "Title":
            lines.append("# " + text)
        elif "List" in style:
            lines.append("- " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines)
