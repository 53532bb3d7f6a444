"""The HTTP API in-process: conversations, approvals, errors as problem+json, tenant isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from procpilot.api.app import create_app
from procpilot.services.container import build
from procpilot.services.settings import Settings
from tests.conftest import MINI


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini").symlink_to(MINI)
    settings = Settings(data_dir=tmp_path / "data", packs_dir=packs)
    container = build(settings)
    with TestClient(create_app(settings, container)) as c:
        yield c
    container.close()


def test_health_and_packs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["packs"] == ["mini"]
    assert client.get("/api/packs").json()[0]["id"] == "mini"
    assert "/api/conversations" in client.get("/openapi.json").json()["paths"]


def test_a_conversation_over_http(client: TestClient) -> None:
    first = client.post("/api/conversations", json={"pack": "mini", "text": "send money to a friend"})
    assert first.status_code == 200
    body = first.json()
    assert body["messages"][0]["text"] == "Who should receive the money?"
    cid = body["conversation_id"]
    for text in ("Alice", "20 dollars", "tomorrow"):
        reply = client.post(f"/api/conversations/{cid}/messages", json={"text": text})
    assert [b["payload"] for b in reply.json()["messages"][0]["buttons"]] == ["yes", "no"]
    done = client.post(f"/api/conversations/{cid}/messages", json={"text": "yes"}).json()
    assert done["messages"][0]["text"].startswith("Sent. Reference")
    history = client.get(f"/api/conversations/{cid}").json()
    assert [m["role"] for m in history["messages"]][:2] == ["user", "bot"]
    kinds = [e["kind"] for e in client.get(f"/api/conversations/{cid}/events").json()]
    assert "tool.completed" in kinds


def test_model_usage_is_reported_per_tenant_and_conversation(client: TestClient) -> None:
    from procpilot.llm.providers.scripted import ScriptedModel

    container = client.app.state.container  # type: ignore[attr-defined]
    container.models.registry.add(ScriptedModel(["A fine note."], name="embedded"))
    cid = client.post("/api/conversations", json={"pack": "mini", "text": "write a note"}).json()[
        "conversation_id"
    ]
    usage = client.get("/api/usage", params={"conversation_id": cid}).json()
    assert usage["calls"] == 1 and usage["completion_tokens"] == 3
    assert client.get("/api/usage", headers={"X-Tenant": "globex"}).json()["calls"] == 0


def test_errors_are_problem_json(client: TestClient) -> None:
    missing = client.post("/api/conversations", json={"pack": "nope", "text": "hi"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "available: mini" in missing.json()["detail"]
    invalid = client.post("/api/conversations", json={"text": ""})
    assert invalid.status_code == 422 and "body.pack" in invalid.json()["detail"]
    too_long = client.post("/api/conversations", json={"pack": "mini", "text": "x" * 4001})
    assert too_long.status_code == 422


def test_another_tenant_cannot_read_or_continue_a_conversation(client: TestClient) -> None:
    cid = client.post("/api/conversations", json={"pack": "mini", "text": "what is my balance"}).json()[
        "conversation_id"
    ]
    other = {"X-Tenant": "globex"}
    assert client.get(f"/api/conversations/{cid}", headers=other).status_code == 404
    assert client.get(f"/api/conversations/{cid}/events", headers=other).status_code == 404
    assert (
        client.post(f"/api/conversations/{cid}/messages", json={"text": "hi"}, headers=other).status_code
        == 404
    )


def test_approvals_over_http(client: TestClient) -> None:
    requester = {"X-User": "emma"}
    cid = client.post(
        "/api/conversations", json={"pack": "mini", "text": "I need some days off"}, headers=requester
    ).json()["conversation_id"]
    client.post(f"/api/conversations/{cid}/messages", json={"text": "2"}, headers=requester)
    [task] = client.get("/api/approvals").json()
    own = client.post(
        f"/api/approvals/{task['id']}/decision", json={"outcome": "approved"}, headers=requester
    )
    assert own.status_code == 400 and "four-eyes" in own.json()["detail"]
    decided = client.post(
        f"/api/approvals/{task['id']}/decision",
        json={"outcome": "rejected", "comment": "busy"},
        headers={"X-User": "max"},
    )
    assert decided.status_code == 200 and "Sorry: busy" in decided.json()["messages"][-1]["text"]
    again = client.post(
        f"/api/approvals/{task['id']}/decision", json={"outcome": "approved"}, headers={"X-User": "max"}
    )
    assert again.status_code == 409
    assert client.get("/api/approvals", headers={"X-Tenant": "globex"}).json() == []
