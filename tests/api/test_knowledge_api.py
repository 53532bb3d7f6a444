"""Knowledge over HTTP: upload, list, ask with citations, open a citation, delete; tenants and labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Env, make_env

ADMIN: dict = {}
GLOBEX: dict = {}
STAFF: dict = {}
USER: dict = {}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    for env in make_env(tmp_path, knowledge=True):
        _keys(env)
        yield env.client


def _keys(env: Env) -> None:
    USER.clear(), USER.update(env.key("default"))
    ADMIN.clear(), ADMIN.update(env.key("default", ("admin",)))
    GLOBEX.clear(), GLOBEX.update(env.key("globex"))
    STAFF.clear(), STAFF.update(env.key("default", ("agent_user", "staff")))


def upload(client: TestClient, name: str, text: str, labels: str = "", headers: dict | None = None) -> dict:
    response = client.post(
        "/api/knowledge/mini/documents",
        files={"file": (name, text.encode(), "text/markdown")},
        data={"labels": labels},
        headers=headers or ADMIN,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_the_packs_documents_answer_every_tenant_with_a_citation_to_open(client: TestClient) -> None:
    for headers in (USER, GLOBEX):
        body = client.post(
            "/api/knowledge/mini/ask", json={"question": "how much can I send at once?"}, headers=headers
        ).json()
        assert body["found"] and "1000" in body["text"] and body["text"].endswith("[1]")
        citation = body["citations"][0]
        assert citation["label"] == "Transfer limits" and citation["source"] == "faq.md"
        opened = client.get(citation["url"], headers=headers)
        assert opened.status_code == 200 and "visit to a branch" in opened.json()["text"]


def test_an_upload_belongs_to_its_tenant(client: TestClient) -> None:
    report = upload(client, "loans.md", "# Loans\n\nPersonal loans start at 6.9% APR for members.")
    assert report["added"] == ["loans.md"] and report["chunks"] == 1
    mine = client.post(
        "/api/knowledge/mini/ask", json={"question": "what APR do personal loans have?"}, headers=USER
    ).json()
    assert mine["found"] and "6.9%" in mine["text"]
    theirs = client.post(
        "/api/knowledge/mini/ask", json={"question": "what APR do personal loans have?"}, headers=GLOBEX
    ).json()
    assert "6.9%" not in theirs["text"] and all(p["source"] != "loans.md" for p in theirs["passages"])
    url = mine["citations"][0]["url"]
    assert client.get(url, headers=GLOBEX).status_code == 404
    sources = {d["source"] for d in client.get("/api/knowledge/mini/documents", headers=USER).json()}
    assert sources == {"faq.md", "loans.md"}


def test_labelled_uploads_are_read_by_label_holders_only(client: TestClient) -> None:
    upload(
        client,
        "fraud.md",
        "# Fraud desk\n\nAgents escalate card fraud above 5000 to the fraud desk.",
        "staff",
    )
    question = {"question": "when do agents escalate card fraud?"}
    assert "5000" not in client.post("/api/knowledge/mini/ask", json=question, headers=USER).json()["text"]
    staff = client.post("/api/knowledge/mini/ask", json=question, headers=STAFF).json()
    assert "5000" in staff["text"]
    assert client.get(staff["citations"][0]["url"], headers=USER).status_code == 404
    assert client.get(staff["citations"][0]["url"], headers=STAFF).status_code == 200


def test_uploads_and_deletes_need_a_designer_or_admin_and_good_files(client: TestClient) -> None:
    denied = client.post(
        "/api/knowledge/mini/documents",
        files={"file": ("a.md", b"# A\n\ntext", "text/markdown")},
        headers=USER,
    )
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    bad = client.post(
        "/api/knowledge/mini/documents",
        files={"file": ("a.exe", b"MZ", "application/octet-stream")},
        headers=ADMIN,
    )
    assert bad.status_code == 400 and "unsupported format" in bad.json()["detail"]
    upload(client, "hours.md", "# Hours\n\nThe call centre answers from 7 to 10 every day.")
    listed = client.get("/api/knowledge/mini/documents", headers=USER).json()
    own = next(d for d in listed if d["source"] == "hours.md")
    shared = next(d for d in listed if d["source"] == "faq.md")
    assert client.delete(f"/api/knowledge/mini/documents/{own['id']}", headers=USER).status_code == 403
    assert client.delete(f"/api/knowledge/mini/documents/{own['id']}", headers=ADMIN).status_code == 204
    assert client.get(f"/api/knowledge/mini/documents/{own['id']}", headers=USER).status_code == 404
    # A pack's own documents are not the tenant's to delete.
    assert client.delete(f"/api/knowledge/mini/documents/{shared['id']}", headers=ADMIN).status_code == 404
