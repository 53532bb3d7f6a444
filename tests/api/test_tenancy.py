"""Tenant A's data is never readable nor changeable by tenant B, endpoint by endpoint, on SQLite
and on PostgreSQL. Tenant B calls with its most powerful roles (admin, auditor, approver with the
same business roles); every answer is "not found" or leaves A's data out, and A's data is unchanged
afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Env, make_env


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> Iterator[Env]:
    yield from make_env(tmp_path, database_url=database_url)


def test_one_tenant_never_reaches_another(env: Env) -> None:
    client = env.client
    # Tenant acme: a conversation waiting for a manager's approval, a document, a key, a user.
    env.person("acme", "emma", ("agent_user",))
    env.person("acme", "max", ("approver", "manager", "acme-only"))
    emma = env.login("acme", "emma")
    acme_admin = env.key("acme", ("admin",))
    cid = emma.post(
        "/api/conversations",
        json={"pack": "mini", "text": "I need some days off", "conversation_id": "acme-c1"},
    ).json()["conversation_id"]
    emma.post(f"/api/conversations/{cid}/messages", json={"text": "4"})
    [instance] = emma.get("/api/processes").json()
    iid = instance["id"]
    [task] = env.login("acme", "max").get("/api/approvals").json()
    acme_key = client.post("/api/keys", json={"name": "acme erp"}, headers=acme_admin).json()
    upload = client.post(
        "/api/knowledge/mini/documents",
        files={"file": ("secret.md", b"# Acme secret\n\nThe acme launch code is 4242.", "text/markdown")},
        headers=acme_admin,
    )
    assert upload.status_code == 201
    doc_id = next(
        d["id"]
        for d in client.get("/api/knowledge/mini/documents", headers=acme_admin).json()
        if d["source"] == "secret.md"
    )
    before = emma.get(f"/api/conversations/{cid}").json()

    # Tenant globex, with every role it can hold.
    admin = env.key("globex", ("admin",))
    auditor = env.key("globex", ("auditor",))
    approver = env.key("globex", ("approver", "manager", "agent_user"))
    env.person("globex", "emma", ("agent_user",))  # same user name and id as acme's emma
    globex_emma = env.login("globex", "emma")

    not_found = [
        ("GET", f"/api/conversations/{cid}", admin),
        ("GET", f"/api/conversations/{cid}", auditor),
        ("GET", f"/api/conversations/{cid}/events", auditor),
        ("GET", f"/api/conversations/{cid}/stream?wait=0", admin),
        ("POST", f"/api/conversations/{cid}/messages", admin),
        ("GET", f"/api/processes/{iid}/timeline", approver),
        ("GET", f"/api/processes/{iid}/timeline", auditor),
        ("POST", f"/api/processes/{iid}/cancel", admin),
        ("GET", f"/api/approvals/{task['id']}", approver),
        ("POST", f"/api/approvals/{task['id']}/decision", approver),
        ("POST", f"/api/approvals/{task['id']}/decision", admin),
        ("GET", "/api/users/max", admin),
        ("PATCH", "/api/users/max", admin),
        ("DELETE", f"/api/keys/{acme_key['id']}", admin),
        ("GET", f"/api/knowledge/mini/documents/{doc_id}", admin),
        ("DELETE", f"/api/knowledge/mini/documents/{doc_id}", admin),
        ("GET", f"/api/usage?conversation_id={cid}", admin),
    ]
    bodies = {
        "messages": {"text": "cancel"},
        "decision": {"outcome": "approved"},
        "max": {"roles": ["admin"], "password": "taken over!"},
    }
    for method, path, headers in not_found:
        body = next((b for k, b in bodies.items() if path.endswith(k)), None)
        response = client.request(
            method, path, headers=headers, json=body if method in ("POST", "PATCH") else None
        )
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert "4242" not in response.text and "days of leave" not in response.text

    # Lists hold globex's own data only.
    assert client.get("/api/conversations?all=true", headers=admin).json() == []
    assert client.get("/api/processes", headers=auditor).json() == []
    assert client.get("/api/approvals?all=true", headers=auditor).json() == []
    assert client.get("/api/approvals", headers=approver).json() == []
    assert {u["username"] for u in client.get("/api/users", headers=admin).json()} == {"emma"}
    assert all(k["name"] != "acme erp" for k in client.get("/api/keys", headers=admin).json())
    assert "acme-only" not in {r["name"] for r in client.get("/api/roles", headers=admin).json()}
    assert [t["id"] for t in client.get("/api/tenants", headers=admin).json()] == ["globex"]
    assert all(
        d["source"] != "secret.md" for d in client.get("/api/knowledge/mini/documents", headers=admin).json()
    )
    asked = client.post(
        "/api/knowledge/mini/ask", json={"question": "what is the acme launch code?"}, headers=admin
    )
    assert "4242" not in asked.text
    assert client.get("/api/usage", headers=admin).json()["calls"] == 0

    # Same user id in another tenant is another person: globex's emma sees none of acme's emma.
    assert globex_emma.get("/api/conversations").json() == []
    assert globex_emma.get(f"/api/conversations/{cid}").status_code == 404
    # A conversation id taken in acme cannot be reused to reach it.
    taken = globex_emma.post(
        "/api/conversations", json={"pack": "mini", "text": "hi", "conversation_id": cid}
    )
    assert taken.status_code == 409
    # The OpenAI-compatible endpoint keys conversations per caller: the same header is another chat.
    chat = client.post(
        "/v1/chat/completions",
        json={"model": "mini", "messages": [{"role": "user", "content": "what is my balance"}]},
        headers={**approver, "X-Procpilot-Conversation": cid},
    )
    assert chat.status_code == 200 and chat.headers["x-procpilot-conversation"] != cid
    # Pages too.
    assert env.login("globex", "emma").get(f"/chat/{cid}", headers={"accept": "text/html"}).status_code == 404

    # Acme's data is as it was: the conversation, the waiting approval, the running instance, the key.
    assert emma.get(f"/api/conversations/{cid}").json() == before
    assert client.get(f"/api/approvals/{task['id']}", headers=acme_admin).json()["status"] == "pending"
    assert emma.get(f"/api/processes/{iid}/timeline").json()["status"] == "running"
    assert client.get("/api/me", headers={"Authorization": f"Bearer {acme_key['key']}"}).status_code == 200
    assert {u["id"]: u for u in client.get("/api/users", headers=acme_admin).json()}["max"]["roles"] == [
        "acme-only",
        "approver",
        "manager",
    ]


def test_a_person_sees_only_their_own_conversations_and_instances(env: Env) -> None:
    env.person("acme", "emma", ("agent_user",))
    env.person("acme", "olaf", ("agent_user",))
    emma, olaf = env.login("acme", "emma"), env.login("acme", "olaf")
    cid = emma.post("/api/conversations", json={"pack": "mini", "text": "I need some days off"}).json()[
        "conversation_id"
    ]
    [instance] = emma.get("/api/processes").json()
    assert olaf.get(f"/api/conversations/{cid}").status_code == 404
    assert olaf.post(f"/api/conversations/{cid}/messages", json={"text": "3"}).status_code == 404
    assert olaf.get("/api/processes").json() == []
    assert olaf.get(f"/api/processes/{instance['id']}/timeline").status_code == 404
    assert olaf.post(f"/api/processes/{instance['id']}/cancel").status_code == 404
    auditor = env.key("acme", ("auditor",))
    assert env.client.get(f"/api/conversations/{cid}", headers=auditor).status_code == 200
    assert (
        env.client.post(f"/api/conversations/{cid}/messages", json={"text": "3"}, headers=auditor).status_code
        == 403
    )


def test_the_same_openai_conversation_header_from_the_same_user_id_in_two_tenants(env: Env) -> None:
    """Two tenants each have a user e015; the header they send is theirs, not a global name."""
    chats = {}
    for tenant in ("acme", "globex"):
        env.person(tenant, "olga", ("agent_user",), user_id="e015")
        person = env.login(tenant, "olga")
        reply = person.post(
            "/v1/chat/completions",
            json={"model": "mini", "messages": [{"role": "user", "content": "what is my balance"}]},
            headers={"X-Procpilot-Conversation": "my-chat"},
        )
        assert reply.status_code == 200, reply.text
        chats[tenant] = reply.headers["x-procpilot-conversation"]
        again = person.post(
            "/v1/chat/completions",
            json={"model": "mini", "messages": [{"role": "user", "content": "send money to a friend"}]},
            headers={"X-Procpilot-Conversation": "my-chat"},
        )
        assert again.headers["x-procpilot-conversation"] == chats[tenant]  # the same chat continues
    assert chats["acme"] != chats["globex"]
