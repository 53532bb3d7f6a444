"""The HTTP API in-process: conversations, processes, approvals, auth, roles, problem+json,
idempotency, streaming, limits and metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from procpilot.domain.errors import UserError
from tests.api.conftest import Env


def sse_events(text: str) -> list[tuple[str, dict]]:
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_health_ready_and_openapi(env: Env) -> None:
    client = env.client
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["packs"] == ["mini"] and ready["database"] == "ok"
    described = client.get("/openapi.json").json()
    assert set(described["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyCookie"}
    paths = described["paths"]
    for path in (
        "/api/conversations",
        "/api/processes",
        "/api/approvals",
        "/v1/chat/completions",
        "/api/keys",
    ):
        assert path in paths
    assert not any(p.startswith(("/chat", "/login")) for p in paths)  # pages are not API


def test_a_conversation_over_http(env: Env) -> None:
    client, me = env.client, env.key()
    first = client.post(
        "/api/conversations", json={"pack": "mini", "text": "send money to a friend"}, headers=me
    )
    assert first.status_code == 200
    body = first.json()
    assert body["messages"][0]["text"] == "Who should receive the money?"
    cid = body["conversation_id"]
    for text in ("Alice", "20 dollars", "tomorrow"):
        reply = client.post(f"/api/conversations/{cid}/messages", json={"text": text}, headers=me)
    assert [b["payload"] for b in reply.json()["messages"][0]["buttons"]] == ["yes", "no"]
    done = client.post(f"/api/conversations/{cid}/messages", json={"text": "yes"}, headers=me).json()
    assert done["messages"][0]["text"].startswith("Sent. Reference")
    history = client.get(f"/api/conversations/{cid}", headers=me).json()
    assert [m["role"] for m in history["messages"]][:2] == ["user", "bot"]
    kinds = [e["kind"] for e in client.get(f"/api/conversations/{cid}/events", headers=me).json()]
    assert "tool.completed" in kinds
    assert [c["id"] for c in client.get("/api/conversations", headers=me).json()] == [cid]


def test_a_reply_streams_as_server_sent_events(env: Env) -> None:
    me = env.key()
    with env.client.stream(
        "POST",
        "/api/conversations",
        json={"pack": "mini", "text": "send money to a friend"},
        headers={**me, "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.read().decode())
    assert events[0] == ("message", {"text": "Who should receive the money?", "buttons": []})
    assert events[-1][0] == "done" and events[-1][1]["active_flows"] == ["transfer_money"]
    cid = events[-1][1]["conversation_id"]
    followed = env.client.get(f"/api/conversations/{cid}/stream?wait=0", headers={**me, "Last-Event-ID": "0"})
    messages = [data["text"] for kind, data in sse_events(followed.text) if kind == "message"]
    assert messages == ["send money to a friend", "Who should receive the money?"]


def test_credentials_are_required_and_checked(env: Env) -> None:
    client = env.client
    anonymous = client.get("/api/conversations")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "log in" in anonymous.json()["detail"]
    assert client.get("/api/me", headers={"Authorization": "Bearer pp_nope"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
    admin = env.key(roles=("admin",))
    key = client.post("/api/keys", json={"name": "erp", "roles": ["agent_user"]}, headers=admin).json()
    assert key["key"].startswith("pp_")
    system = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/api/me", headers=system).json()["roles"] == ["agent_user"]
    listed = client.get("/api/keys", headers=admin).json()
    assert all("key" not in k and "key_hash" not in k for k in listed)  # the secret is shown once
    assert client.delete(f"/api/keys/{key['id']}", headers=admin).status_code == 204
    assert client.get("/api/me", headers=system).status_code == 401  # revoked


def test_login_sets_a_safe_cookie_and_changes_need_the_csrf_token(env: Env) -> None:
    env.person("acme", "emma", ("agent_user",))
    client = TestClient(env.client.app)
    wrong = client.post("/api/session", json={"tenant": "acme", "username": "emma", "password": "nope"})
    assert wrong.status_code == 401 and "password" in wrong.json()["detail"]
    login = client.post(
        "/api/session", json={"tenant": "acme", "username": "emma", "password": "correct horse battery"}
    )
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert login.json()["id"] == "emma"
    assert client.get("/api/me").json()["via"] == "session"
    refused = client.post("/api/conversations", json={"pack": "mini", "text": "hi"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    assert (
        client.post("/api/conversations", json={"pack": "mini", "text": "hi"}, headers=csrf).status_code
        == 200
    )
    assert client.put("/api/me/language", json={"language": "zh"}, headers=csrf).status_code == 200
    assert client.get("/api/me").json()["language"] == "zh"
    assert client.delete("/api/session", headers=csrf).status_code == 204
    assert client.get("/api/me").status_code == 401


def test_passwords_are_hashed_with_scrypt(env: Env) -> None:
    env.person("acme", "emma", ("agent_user",))
    from procpilot.storage.accounts import AccountRepository

    with env.container.database.transaction() as c:
        stored = AccountRepository(c).user("acme", "emma")["password_hash"]
    assert stored.startswith("scrypt$") and "correct horse" not in stored


def test_roles_decide_what_a_caller_may_do(env: Env) -> None:
    client = env.client
    user, auditor, designer = env.key(), env.key(roles=("auditor",)), env.key(roles=("designer",))
    denied = client.get("/api/users", headers=user)
    assert denied.status_code == 403 and "admin" in denied.json()["detail"]
    assert client.post("/api/packs/reload", headers=user).status_code == 403
    assert client.post("/api/packs/reload", headers=designer).status_code == 200
    assert client.post("/api/packs/mini/validate", headers=designer).json()["valid"] is True
    no_talk = client.post("/api/conversations", json={"pack": "mini", "text": "hi"}, headers=auditor)
    assert no_talk.status_code == 403 and "agent_user" in no_talk.json()["detail"]
    assert client.get("/api/approvals", headers=user).status_code == 403
    assert client.get("/api/approvals?all=true", headers=auditor).status_code == 200
    assert (
        client.post(
            "/api/tenants",
            json={"id": "x", "name": "X", "admin_username": "a", "admin_password": "0123456789"},
            headers=env.key(roles=("admin",)),
        ).status_code
        == 403
    )


def test_an_operator_creates_a_tenant_whose_admin_manages_it(env: Env) -> None:
    client = env.client
    operator = env.key(tenant="default", roles=("admin",))
    created = client.post(
        "/api/tenants",
        json={
            "id": "initech",
            "name": "Initech",
            "admin_username": "bill",
            "admin_password": "tps-reports-1",
        },
        headers=operator,
    )
    assert created.status_code == 201
    assert {t["id"] for t in client.get("/api/tenants", headers=operator).json()} >= {"default", "initech"}
    bill = TestClient(client.app)
    login = bill.post(
        "/api/session", json={"tenant": "initech", "username": "bill", "password": "tps-reports-1"}
    )
    bill.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    assert [t["id"] for t in bill.get("/api/tenants").json()] == ["initech"]
    made = bill.post(
        "/api/users",
        json={"username": "milton", "password": "red stapler!", "roles": ["agent_user", "approver"]},
    )
    assert made.status_code == 201 and made.json()["roles"] == ["agent_user", "approver"]
    changed = bill.patch("/api/users/milton", json={"roles": ["agent_user"], "display_name": "Milton W."})
    assert changed.json()["roles"] == ["agent_user"] and changed.json()["display_name"] == "Milton W."
    roles = {r["name"]: r for r in bill.get("/api/roles").json()}
    assert roles["agent_user"]["users"] == 1 and roles["admin"]["platform"]
    assert bill.patch("/api/users/bill", json={"roles": ["agent_user"]}).status_code == 400  # not oneself


def test_processes_start_timeline_and_cancel(env: Env) -> None:
    client, me = env.client, env.key()
    flows = {f["id"]: f for f in client.get("/api/packs/mini/flows", headers=me).json()}
    assert "leave" in flows and flows["leave"]["may_start"]
    started = client.post(
        "/api/processes", json={"pack": "mini", "flow": "leave", "slots": {"days": 3}}, headers=me
    )
    assert started.status_code == 200, started.text
    [instance] = client.get("/api/processes", headers=me).json()
    assert instance["flow_id"] == "leave" and instance["status"] == "running"
    approver = env.key(roles=("approver", "manager"))
    [task] = client.get("/api/approvals", headers=approver).json()
    assert task["instance_id"] == instance["id"] and task["summary"] == "3 days of leave"
    timeline = client.get(f"/api/processes/{instance['id']}/timeline", headers=me).json()
    kinds = [e["kind"] for e in timeline["entries"]]
    assert kinds[0] == "flow.started" and "approval.requested" in kinds and "slot.set" in kinds
    cancelled = client.post(f"/api/processes/{instance['id']}/cancel", headers=me)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get("/api/approvals", headers=approver).json() == []  # the task was withdrawn
    late = client.post(
        f"/api/approvals/{task['id']}/decision", json={"outcome": "approved"}, headers=approver
    )
    assert late.status_code == 409
    assert client.post(f"/api/processes/{instance['id']}/cancel", headers=me).status_code == 409
    unknown = client.post("/api/processes", json={"pack": "mini", "flow": "nope"}, headers=me)
    assert unknown.status_code == 404


def test_approvals_inbox_and_decisions(env: Env) -> None:
    client = env.client
    env.person("acme", "emma", ("agent_user", "manager", "approver"))
    requester = env.login("acme", "emma")
    cid = requester.post("/api/conversations", json={"pack": "mini", "text": "I need some days off"}).json()[
        "conversation_id"
    ]
    requester.post(f"/api/conversations/{cid}/messages", json={"text": "2"})
    [task] = requester.get("/api/approvals").json()  # emma is a manager too, but
    own = requester.post(f"/api/approvals/{task['id']}/decision", json={"outcome": "approved"})
    assert own.status_code == 400 and "four-eyes" in own.json()["detail"]
    outsider = env.key(roles=("approver",))  # an approver without the manager role
    assert client.get("/api/approvals", headers=outsider).json() == []
    refused = client.post(
        f"/api/approvals/{task['id']}/decision", json={"outcome": "approved"}, headers=outsider
    )
    assert refused.status_code == 404  # not theirs to see
    manager = env.key(roles=("approver", "manager"))
    decided = client.post(
        f"/api/approvals/{task['id']}/decision",
        json={"outcome": "rejected", "comment": "busy"},
        headers=manager,
    )
    assert decided.status_code == 200 and "Sorry: busy" in decided.json()["messages"][-1]["text"]
    again = client.post(
        f"/api/approvals/{task['id']}/decision", json={"outcome": "approved"}, headers=manager
    )
    assert again.status_code == 409
    told = requester.get(f"/api/conversations/{cid}").json()["messages"][-1]["text"]
    assert "Sorry: busy" in told


def test_errors_are_problem_json_with_a_useful_detail(env: Env) -> None:
    client, me = env.client, env.key()
    missing = client.post("/api/conversations", json={"pack": "nope", "text": "hi"}, headers=me)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "available: mini" in missing.json()["detail"]
    assert missing.json()["instance"] == "/api/conversations"
    invalid = client.post("/api/conversations", json={"text": ""}, headers=me)
    assert invalid.status_code == 422 and "body.pack" in invalid.json()["detail"]
    extra = client.post("/api/conversations", json={"pack": "mini", "text": "hi", "oops": 1}, headers=me)
    assert extra.status_code == 422 and "oops" in extra.json()["detail"]
    too_long = client.post("/api/conversations", json={"pack": "mini", "text": "x" * 4001}, headers=me)
    assert too_long.status_code == 422
    not_json = client.post(
        "/api/conversations", content=b"{", headers={**me, "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    huge = client.post(
        "/api/conversations", content=b"x" * 2_000_000, headers={**me, "content-type": "application/json"}
    )
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"
    nowhere = client.get("/api/nothing-here", headers=me)
    assert nowhere.status_code == 404 and nowhere.headers["content-type"] == "application/problem+json"


def test_an_idempotency_key_replays_the_response_and_refuses_another_body(env: Env) -> None:
    client, me = env.client, env.key()
    once = {**me, "Idempotency-Key": "start-1"}
    first = client.post(
        "/api/conversations", json={"pack": "mini", "text": "send money to a friend"}, headers=once
    )
    replay = client.post(
        "/api/conversations", json={"pack": "mini", "text": "send money to a friend"}, headers=once
    )
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert len(client.get("/api/conversations", headers=me).json()) == 1  # the work ran once
    other = client.post("/api/conversations", json={"pack": "mini", "text": "something else"}, headers=once)
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    # Keys belong to their caller: another caller's same key is a new request.
    someone = {**env.key(), "Idempotency-Key": "start-1"}
    assert (
        client.post("/api/conversations", json={"pack": "mini", "text": "hi"}, headers=someone).status_code
        == 200
    )


def test_metrics_count_requests_and_the_work_done(env: Env) -> None:
    me = env.key()
    cid = env.client.post(
        "/api/conversations", json={"pack": "mini", "text": "send money to a friend"}, headers=me
    ).json()["conversation_id"]
    for text in ("Alice", "20 dollars", "tomorrow", "yes"):
        env.client.post(f"/api/conversations/{cid}/messages", json={"text": text}, headers=me)
    text = env.client.get("/metrics").text
    assert 'procpilot_conversations_total{tenant="acme"} 1.0' in text
    assert 'procpilot_flows_completed_total{tenant="acme"} 1.0' in text
    assert 'procpilot_tool_calls_total{status="ok",tenant="acme"}' in text
    assert (
        'procpilot_http_requests_total{method="POST",route="/api/conversations/{conversation_id}/messages",status="200"} 4.0'
        in text
    )
    assert "procpilot_http_request_duration_seconds_bucket" in text


def test_model_usage_is_reported_per_conversation_and_tenant(env: Env) -> None:
    from procpilot.llm.providers.scripted import ScriptedModel

    env.container.models.registry.add(ScriptedModel(["A fine note."], name="embedded"))
    me = env.key()
    cid = env.client.post(
        "/api/conversations", json={"pack": "mini", "text": "write a note"}, headers=me
    ).json()["conversation_id"]
    usage = env.client.get("/api/usage", params={"conversation_id": cid}, headers=me).json()
    assert usage["calls"] == 1 and usage["completion_tokens"] == 3
    assert (
        env.client.get("/api/usage", headers=env.key(tenant="globex", roles=("auditor",))).json()["calls"]
        == 0
    )
    assert env.client.get("/api/usage", headers=me).status_code == 403


def test_a_pack_is_described_and_each_flow_drawn(env: Env) -> None:
    me = env.key()
    pack = env.client.get("/api/packs/mini", headers=me).json()
    leave = next(f for f in pack["flows"] if f["id"] == "leave")
    assert [s["type"] for s in leave["steps"]][:2] == ["collect", "approval"]
    svg = env.client.get("/api/packs/mini/flows/leave/diagram", headers=me)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and svg.text.count('class="step"') == len(leave["steps"]) + 1  # + END
    assert 'class="jump"' in svg.text and ">rejected<" in svg.text  # the on_rejected jump, labelled
    assert env.client.get("/api/packs/mini/flows/nope/diagram", headers=me).status_code == 404


def test_repeated_wrong_passwords_lock_the_account_for_a_while(env: Env) -> None:
    env.person("acme", "emma", ("agent_user",))
    env.person("acme", "olaf", ("agent_user",))
    client = TestClient(env.client.app)
    for _ in range(5):
        wrong = client.post("/api/session", json={"tenant": "acme", "username": "emma", "password": "guess"})
        assert wrong.status_code == 401
    locked = client.post(
        "/api/session", json={"tenant": "acme", "username": "emma", "password": "correct horse battery"}
    )
    assert locked.status_code == 429 and "try again in 15 minute" in locked.json()["detail"]
    assert 800 < int(locked.headers["retry-after"]) <= 900
    # Other accounts are not affected.
    ok = client.post(
        "/api/session", json={"tenant": "acme", "username": "olaf", "password": "correct horse battery"}
    )
    assert ok.status_code == 200


def test_metrics_can_require_a_token(env: Env) -> None:
    env.container.settings.metrics_token = "scrape-me"
    assert env.client.get("/metrics").status_code == 401
    assert env.client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    scraped = env.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200 and "procpilot_http_requests_total" in scraped.text


def test_a_bad_last_event_id_is_refused_like_a_bad_after(env: Env) -> None:
    env.person("acme", "emma", ("agent_user",))
    emma = env.login("acme", "emma")
    cid = emma.post("/api/conversations", json={"pack": "mini", "text": "send money to a friend"}).json()[
        "conversation_id"
    ]
    for bad in ("\u00b2".encode(), b"9" * 20, b"-1", b"12a"):  # "\u00b2" is a digit to str.isdigit()
        for path in (f"/api/conversations/{cid}/stream?wait=0", f"/chat/{cid}/stream"):
            response = emma.get(path, headers={"Last-Event-ID": bad})  # type: ignore[dict-item]
            assert response.status_code == 422, (path, bad, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
    fine = emma.get(f"/api/conversations/{cid}/stream?wait=0", headers={"Last-Event-ID": "1"})
    assert fine.status_code == 200
    assert [d["text"] for k, d in sse_events(fine.text) if k == "message"] == [
        "Who should receive the money?"
    ]


def test_ids_that_name_folders_cannot_step_out_of_them(env: Env) -> None:
    client = env.client
    operator = env.key(tenant="default", roles=("admin",))
    for bad in (".", "..", "..x", "-x", "a/b"):
        refused = client.post(
            "/api/tenants",
            json={"id": bad, "name": "Bad", "admin_username": "bill", "admin_password": "tps-reports-1"},
            headers=operator,
        )
        assert refused.status_code in (400, 422), (bad, refused.status_code)
        assert refused.headers["content-type"] == "application/problem+json"
    names = {t["id"] for t in client.get("/api/tenants", headers=operator).json()}
    assert not names & {".", "..", "..x", "-x"}
    user = client.post(
        "/api/users", json={"username": "..", "password": "0123456789ab"}, headers=env.key(roles=("admin",))
    )
    assert user.status_code in (400, 422)
    # The one place that turns ids into a business database's path refuses them too.
    with pytest.raises(UserError):
        env.container.workspace.path("..", "mini")
    assert env.container.workspace.path("acme", "mini").parent.name == "acme"
    refused = client.post(
        "/api/tenants",
        json={"id": "_pack", "name": "Mine", "admin_username": "bill", "admin_password": "tps-reports-1"},
        headers=operator,
    )
    assert refused.status_code in (400, 422)  # procpilot's own ids cannot be taken


def test_approvers_read_the_instances_they_may_decide_and_their_own_only(env: Env) -> None:
    client = env.client
    env.person("acme", "emma", ("agent_user",))
    emma = env.login("acme", "emma")
    cid = emma.post("/api/conversations", json={"pack": "mini", "text": "I need some days off"}).json()[
        "conversation_id"
    ]
    emma.post(f"/api/conversations/{cid}/messages", json={"text": "3"})
    [instance] = emma.get("/api/processes").json()
    iid = instance["id"]
    # An approver who may not decide it (no manager role) sees neither the instance nor its timeline.
    env.person("acme", "otto", ("approver",))
    otto = env.login("acme", "otto")
    assert otto.get("/api/processes").json() == []
    assert otto.get(f"/api/processes/{iid}/timeline").status_code == 404
    assert otto.get(f"/processes/{iid}", headers={"accept": "text/html"}).status_code == 404
    outsider_key = env.key(roles=("approver",))
    assert client.get("/api/processes", headers=outsider_key).json() == []
    # The manager, who decides it, reads it; an auditor reads everything.
    env.person("acme", "max", ("approver", "manager"))
    manager = env.login("acme", "max")
    assert [i["id"] for i in manager.get("/api/processes").json()] == [iid]
    assert manager.get(f"/api/processes/{iid}/timeline").status_code == 200
    auditor = env.key(roles=("auditor",))
    assert [i["id"] for i in client.get("/api/processes", headers=auditor).json()] == [iid]


def test_a_chunked_body_over_the_limit_is_413_with_or_without_an_idempotency_key(env: Env) -> None:
    me = env.key()
    limit = env.container.settings.max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"pack": "mini", "text": "'
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    for extra in ({}, {"Idempotency-Key": "chunked-1"}):
        response = env.client.post(
            "/api/conversations",
            content=chunks(),
            headers={**me, **extra, "Content-Type": "application/json"},
        )
        assert response.status_code == 413, (extra, response.status_code, response.text[:200])
        assert response.headers["content-type"] == "application/problem+json"
    # A chunked body within the limit is read as usual.
    small = env.client.post(
        "/api/conversations",
        content=iter([b'{"pack": "mini", ', b'"text": "send money to a friend"}']),
        headers={**me, "Content-Type": "application/json"},
    )
    assert small.status_code == 200, small.text


def test_an_unknown_address_is_a_page_for_a_browser_and_a_problem_for_a_client(env: Env) -> None:
    page = env.client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text and "<html" in page.text
    api = env.client.get("/api/no-such-thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
