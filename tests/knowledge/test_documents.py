"""Reading every supported format from real files, and chunking by structure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from procpilot.knowledge import UnreadableDocument, chunk, read_document
from procpilot.knowledge.documents import Document


def write_pdf(path: Path, lines: list[str]) -> None:
    """A minimal but valid one-page PDF with text, written byte by byte."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)


def test_markdown_with_front_matter_labels(tmp_path: Path) -> None:
    (tmp_path / "fees.md").write_text(
        "---\nlabels: [internal, finance]\n---\n# Fees\n\n## Wires\n\nA wire costs $25.\n"
    )
    [doc] = read_document(tmp_path / "fees.md", root=tmp_path)
    assert (doc.source, doc.title, doc.labels) == ("fees.md", "Fees", ("internal", "finance"))
    assert doc.text.startswith("# Fees") and len(doc.fingerprint) == 64


def test_html_keeps_headings_and_drops_scripts(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(
        "<html><head><title>Refunds</title><script>var x = 1;</script></head><body>"
        "<h1>Refunds</h1><p>Refunds take <b>5 to 7</b> business days.</p><h2>Gift cards</h2><ul><li>Instant</li></ul>"
        "</body></html>"
    )
    [doc] = read_document(tmp_path / "p.html")
    assert doc.title == "Refunds" and "var x" not in doc.text
    assert (
        "# Refunds" in doc.text
        and "## Gift cards" in doc.text
        and "Refunds take 5 to 7 business days." in doc.text
    )


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Card disputes", level=1)
    document.add_paragraph("Open a dispute within 60 days.")
    document.add_heading("Evidence", level=2)
    document.add_paragraph("Ask for the receipt.", style="List Bullet")
    document.save(str(tmp_path / "d.docx"))
    [doc] = read_document(tmp_path / "d.docx")
    assert doc.title == "Card disputes"
    assert (
        "# Card disputes" in doc.text and "## Evidence" in doc.text and "- Ask for the receipt." in doc.text
    )


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    write_pdf(tmp_path / "policy.pdf", ["Overdraft policy", "The overdraft fee is 35 dollars."])
    [doc] = read_document(tmp_path / "policy.pdf")
    assert "overdraft fee is 35 dollars" in doc.text and doc.title == "Overdraft policy"


def test_json_knowledge_base_documents(tmp_path: Path) -> None:
    items = [
        {"id": "a1", "title": "Opening accounts", "content": "## Rules\n\nBe 18."},
        {"id": "a2", "title": "Closing", "content": "Call us."},
    ]
    (tmp_path / "kb.json").write_text(json.dumps(items))
    docs = read_document(tmp_path / "kb.json")
    assert [(d.source, d.title) for d in docs] == [
        ("kb.json#a1", "Opening accounts"),
        ("kb.json#a2", "Closing"),
    ]


def test_a_knowledge_base_document_in_the_bank_format(tmp_path: Path) -> None:
    item = {
        "id": "doc_bank_accounts_001",
        "title": "Internal: Opening Personal Checking Accounts",
        "content": "## Eligibility Requirements\n\n1. The customer is verified.\n2. At least 18 years old.\n\n"
        "## Opening Procedure\n\n1. Verify identity.\n2. Open the account.",
    }
    (tmp_path / "doc_bank_accounts_001.json").write_text(json.dumps(item))
    [doc] = read_document(tmp_path / "doc_bank_accounts_001.json")
    chunks = chunk(doc)
    assert doc.title.startswith("Internal:")
    assert [c.section for c in chunks] == ["Eligibility Requirements", "Opening Procedure"]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("x.xyz", b"?", "unsupported format"),
        ("bad.pdf", b"not a pdf", "cannot parse"),
        ("bad.md", b"\xff\xfe\xfa", "not UTF-8"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, name: str, content: bytes, problem: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableDocument, match=problem) as caught:
        read_document(tmp_path / name)
    assert name in str(caught.value)


def test_chunks_follow_sections_and_size() -> None:
    long_paragraph = " ".join(f"Sentence number {i} explains a rule." for i in range(60))
    doc = Document(
        "s.md",
        "Guide",
        f"# Guide\n\nIntro.\n\n## Fees\n\nShort one.\n\nShort two.\n\n## Limits\n\n{long_paragraph}",
        ("staff",),
    )
    chunks = chunk(doc, max_chars=300)
    assert [c.section for c in chunks][:2] == ["Guide", "Guide > Fees"]
    assert chunks[1].text == "Short one.\n\nShort two."
    limits = [c for c in chunks if c.section == "Guide > Limits"]
    assert len(limits) > 1 and all(len(c.text) <= 300 for c in limits)
    assert all(c.labels == ("staff",) for c in chunks) and [c.ordinal for c in chunks] == list(
        range(len(chunks))
    )
