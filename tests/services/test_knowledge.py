"""Knowledge on SQLite and PostgreSQL: ingestion, re-ingestion, hybrid search, access, answers.

The documents are written by the tests; the embedding model is the real one. On the machine's
PostgreSQL (no pgvector) vectors are scored by the exact NumPy scan; test_knowledge_pgvector.py
covers pgvector.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from procpilot.domain.errors import UserError
from procpilot.domain.flows import ModelUse, Pack
from procpilot.llm import ModelError
from procpilot.llm.providers.scripted import ScriptedModel
from procpilot.services.knowledge import KnowledgeService
from procpilot.services.models.routing import ModelRegistry, ModelService
from procpilot.services.platform.settings import Settings
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database

WIRES = """# Wire transfers

## Fees
Domestic wires cost $15 each. International wires cost $45 each and arrive within two business days.

## Cut-off times
Wires sent after 4 pm are processed the next business day.
"""

CARDS = """<html><head><title>Lost cards</title></head><body>
<h1>Lost or stolen cards</h1><p>Freeze the card in the app straight away. A replacement card arrives in
five to seven days and costs nothing.</p></body></html>"""

SECRET = """---
labels: [staff]
---
# Fraud scoring (internal)

Agents unlock a PIN-locked card only when the fraud risk score is below 40.
"""


class CountingEncoder:
    """The real encoder, counting the texts it embeds (to prove unchanged documents are skipped)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts = 0

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.encode(texts, batch_size=batch_size)


@pytest.fixture(params=["sqlite", "postgresql", "pgvector"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """SQLite (sqlite-vec), the machine's PostgreSQL (vectors scanned in NumPy), pgserver's (pgvector)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.sqlite'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
    else:
        url = request.getfixturevalue("pgvector_url")
    database = Database(url)
    database.migrate()
    expected = {"sqlite": "sqlite-vec", "postgresql": "python", "pgvector": "pgvector"}[request.param]
    assert database.vectors == expected
    with database.transaction() as c:
        AccountRepository(c).ensure_tenant("acme")
        AccountRepository(c).ensure_tenant("globex")
    yield database
    database.dispose()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "wires.md").write_text(WIRES)
    (root / "cards.html").write_text(CARDS)
    (root / "fraud.md").write_text(SECRET)
    (root / "faq.json").write_text(
        json.dumps(
            [
                {
                    "id": "hours",
                    "title": "Opening hours",
                    "content": "Branches open 9 am to 5 pm on weekdays.",
                },
                {"id": "atm", "title": "ATM limits", "content": "You can withdraw up to $500 a day at ATMs."},
            ]
        )
    )
    (root / "notes.bin").write_bytes(b"\x00\x01")  # not a document format: ignored
    return root


@pytest.fixture
def encoder(minilm: Any) -> CountingEncoder:
    return CountingEncoder(minilm)


@pytest.fixture
def service(db: Database, encoder: CountingEncoder) -> KnowledgeService:
    return KnowledgeService(db, lambda: encoder)


def test_a_folder_is_ingested_then_only_what_changed_again(
    service: KnowledgeService, docs: Path, encoder: CountingEncoder
) -> None:
    first = service.ingest_folder("acme", "help", docs)
    assert sorted(first.added) == ["cards.html", "faq.json#atm", "faq.json#hours", "fraud.md", "wires.md"]
    assert first.chunks >= 5 and not first.failed
    embedded = encoder.texts

    (docs / "wires.md").write_text(WIRES.replace("$45", "$50"))
    (docs / "cards.html").unlink()
    (docs / "new.txt").write_text("Savings accounts pay 2% interest, paid monthly.")
    second = service.ingest_folder("acme", "help", docs)
    assert second.updated == ["wires.md"] and second.added == ["new.txt"] and second.removed == ["cards.html"]
    assert second.unchanged == 3
    # Only the changed and the new document were embedded again.
    assert encoder.texts - embedded == second.chunks <= 4

    third = service.ingest_folder("acme", "help", docs)
    assert (third.added, third.updated, third.removed, third.unchanged) == ([], [], [], 5)
    passages = service.search("acme", "help", "international wire fee")
    assert "$50" in passages[0].text
    assert not service.search("acme", "help", "replacement card stolen", mode="fts")


@pytest.mark.parametrize("mode", ["fts", "vector", "hybrid"])
def test_each_search_finds_the_passage(service: KnowledgeService, docs: Path, mode: str) -> None:
    service.ingest_folder("acme", "help", docs)
    found = service.search("acme", "help", "how much does it cost to send money abroad by wire", mode=mode)
    assert found and found[0].source == "wires.md"
    assert [p.n for p in found] == list(range(1, len(found) + 1))
    found = service.search("acme", "help", "my card was stolen, what do I do?", mode=mode)
    assert found[0].source == "cards.html" and found[0].title == "Lost cards"


def test_vectors_find_what_shares_no_word_with_the_question(service: KnowledgeService, docs: Path) -> None:
    service.ingest_folder("acme", "help", docs)
    found = service.search("acme", "help", "when are the branches open", mode="vector")
    assert found[0].source == "faq.json#hours"
    found = service.search("acme", "help", "maximum cash from a machine per day", mode="hybrid")
    assert found[0].source == "faq.json#atm"


def test_tenants_never_see_each_others_documents(
    service: KnowledgeService, docs: Path, tmp_path: Path
) -> None:
    service.ingest_folder("acme", "help", docs)
    other = tmp_path / "globex"
    other.mkdir()
    (other / "wires.md").write_text("# Wires\n\nGlobex wires to other countries cost $99.")
    service.ingest_folder("globex", "help", other)
    for mode in ("fts", "vector", "hybrid"):
        # limit=1: the filter runs inside the query, so the best visible passage is still returned.
        acme = service.search("acme", "help", "international wire cost", mode=mode, limit=1)
        globex = service.search("globex", "help", "international wire cost", mode=mode, limit=1)
        assert "$45" in acme[0].text and "$99" in globex[0].text
        assert all("Globex" not in p.text for p in service.search("acme", "help", "Globex wires", mode=mode))


def test_labelled_documents_are_read_only_by_holders_of_a_label(
    service: KnowledgeService, docs: Path
) -> None:
    service.ingest_folder("acme", "help", docs)
    question = "when may an agent unlock a PIN locked card fraud risk score"
    for mode in ("fts", "vector", "hybrid"):
        anyone = service.search("acme", "help", question, mode=mode, limit=1)
        staff = service.search("acme", "help", question, labels=["staff"], mode=mode, limit=1)
        assert anyone and anyone[0].source != "fraud.md"
        assert staff[0].source == "fraud.md"
    listed = {d["source"] for d in service.documents("acme", "help")}
    assert "fraud.md" not in listed and "wires.md" in listed
    secret = next(d for d in service.documents("acme", "help", ["staff"]) if d["source"] == "fraud.md")
    assert secret["labels"] == ["staff"]
    with pytest.raises(UserError, match="that you may read"):
        service.document("acme", "help", secret["id"])
    opened = service.document("acme", "help", secret["id"], ["staff"])
    assert "below 40" in opened["text"] and opened["chunks"]


def test_answers_cite_and_highlight_or_say_nothing_was_found(service: KnowledgeService, docs: Path) -> None:
    service.ingest_folder("acme", "help", docs)
    answer = service.answer("acme", "help", "what is the fee for an international wire?")
    assert answer.found and answer.mode == "extractive"
    assert "**International wires cost $45 each and arrive within two business days.**" in answer.text
    assert [c.source for c in answer.citations] == ["wires.md"] and answer.text.endswith("[1]")
    assert answer.citations[0].label == "Wire transfers — Fees"
    nothing = service.answer("acme", "help", "who painted the mona lisa")
    assert not nothing.found and not nothing.citations


def test_a_broken_file_is_reported_and_the_rest_ingested(service: KnowledgeService, docs: Path) -> None:
    (docs / "broken.json").write_text("{not json")
    (docs / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    report = service.ingest_folder("acme", "help", docs)
    assert sorted(source for source, _ in report.failed) == ["broken.json", "latin1.md"]
    assert "cannot parse" in dict(report.failed)["broken.json"]
    assert "wires.md" in report.added


def test_uploads_add_one_document_and_keep_the_others(service: KnowledgeService, docs: Path) -> None:
    service.ingest_folder("acme", "help", docs)
    report = service.ingest_upload(
        "acme", "help", "loans.md", b"# Loans\n\nPersonal loans start at 6.9% APR."
    )
    assert report.added == ["loans.md"]
    assert len(service.documents("acme", "help")) == 5  # four readable before, plus the upload
    assert service.search("acme", "help", "personal loan APR")[0].source == "loans.md"
    with pytest.raises(UserError, match="unsupported format"):
        service.ingest_upload("acme", "help", "virus.exe", b"MZ")
    with pytest.raises(UserError, match="cannot parse"):
        service.ingest_upload("acme", "help", "bad.json", b"[")


def _pack_with_knowledge_model(tmp_path: Path) -> Pack:
    return Pack(
        id="help",
        name="Help",
        root=str(tmp_path),
        models={"knowledge": ModelUse(model="writer")},
    )


def _service_with_model(db: Database, encoder: Any, model: ScriptedModel) -> KnowledgeService:
    registry = ModelRegistry(Settings(), extra={"writer": model})
    return KnowledgeService(db, lambda: encoder, ModelService(db, registry, 5.0))


def test_a_capable_model_writes_the_answer_when_its_citations_hold(
    db: Database, encoder: CountingEncoder, docs: Path, tmp_path: Path
) -> None:
    model = ScriptedModel(["International wires cost $45 and take two business days [1]."], name="writer")
    service = _service_with_model(db, encoder, model)
    service.ingest_folder("acme", "help", docs)
    pack = _pack_with_knowledge_model(tmp_path)
    answer = service.answer("acme", "help", "international wire fee?", pack=pack)
    assert answer.mode == "written" and answer.model == "writer"
    assert answer.text.endswith("[1].") and answer.citations[0].n == 1
    prompt = model.requests[0].messages[-1].content
    assert "[1] Wire transfers — Fees" in prompt and "Question: international wire fee?" in prompt
    assert "not instructions" in model.requests[0].messages[0].content


@pytest.mark.parametrize(
    "reply, note",
    [
        ("Wires cost $45 [9].", "the answer cites passages that were not given: [9]"),
        ("Wires cost $45.", "the answer cites no passage"),
        ("NOT FOUND", "the model found no answer in the passages"),
        (ModelError("writer", "timed out"), "timed out"),
    ],
)
def test_a_written_answer_that_fails_its_check_falls_back_to_the_extract(
    db: Database, encoder: CountingEncoder, docs: Path, tmp_path: Path, reply: Any, note: str
) -> None:
    service = _service_with_model(db, encoder, ScriptedModel([reply], name="writer"))
    service.ingest_folder("acme", "help", docs)
    answer = service.answer(
        "acme", "help", "international wire fee?", pack=_pack_with_knowledge_model(tmp_path)
    )
    assert answer.found and answer.mode == "extractive" and note in answer.note
    assert "$45" in answer.text
