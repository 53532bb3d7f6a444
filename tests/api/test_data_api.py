"""Data collection over HTTP: ratings, queues, leases (409 names the holder), datasets, exports,
roles and tenants kept apart."""

from __future__ import annotations

import json

from tests.api.conftest import Env


def test_rate_review_build_and_export_over_http(env: Env) -> None:
    env.person("acme", "cleo", ("agent_user",))
    env.person("acme", "rex", ("reviewer",))
    env.person("acme", "ria", ("reviewer",))
    env.person("acme", "stu", ("data_steward",))
    cleo, rex, ria, stu = (env.login("acme", n) for n in ("cleo", "rex", "ria", "stu"))

    assert rex.put("/api/review/queues/down", json={"signals": ["thumbs_down"]}).status_code == 403
    made = stu.put("/api/review/queues/down", json={"signals": ["thumbs_down"], "guideline": "Fix it."})
    assert made.status_code == 200, made.text
    assert stu.put("/api/review/queues/bad", json={"signals": ["vibes"]}).status_code == 400

    reply = cleo.post("/api/conversations", json={"pack": "mini", "text": "what is my balance"})
    conversation = reply.json()["conversation_id"]
    history = cleo.get(f"/api/conversations/{conversation}").json()
    bot = [m for m in history["messages"] if m["role"] == "bot"][-1]
    url = f"/api/conversations/{conversation}/messages/{bot['id']}/feedback"
    assert cleo.post(url, json={"rating": "meh"}).status_code == 422
    assert env.client.post(url, json={"rating": "down"}, headers=env.key("acme")).status_code == 403
    rated = cleo.post(url, json={"rating": "down", "reason": "wrong", "comment": "not my balance"})
    assert rated.status_code == 200, rated.text

    item = rex.post("/api/review/queues/down/next")
    assert item.status_code == 200 and item.json()["ratings"][0]["comment"] == "not my balance"
    item_id = item.json()["id"]
    assert ria.post("/api/review/queues/down/next").status_code == 204
    taken = ria.post(f"/api/review/items/{item_id}", json={"verdict": "submit", "answer": {"reply": "x"}})
    assert taken.status_code == 409 and "held by rex" in taken.json()["detail"]
    done = rex.post(
        f"/api/review/items/{item_id}",
        json={
            "verdict": "submit",
            "answer": {"intent": "check_balance", "reply": "You have $500.00 in your account."},
        },
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    test = rex.get(f"/api/review/items/{item_id}/test")
    assert test.status_code == 200 and "bot_contains: You have $500.00 in your account." in test.text

    assert rex.post("/api/datasets", json={"name": "d", "query": {}}).status_code == 403
    empty = stu.post("/api/datasets", json={"name": "d", "query": {"packs": ["none"]}})
    assert empty.status_code == 400 and "matches no turns" in empty.json()["detail"]
    built = stu.post("/api/datasets", json={"name": "d", "query": {"reviewed_only": True}})
    assert built.status_code == 201, built.text
    version = built.json()["id"]
    exported = stu.get(f"/api/datasets/{version}/export", params={"format": "openai-dpo"})
    assert exported.status_code == 200 and exported.headers["x-rows"] == "1"
    row = json.loads(exported.text)
    assert row["preferred_output"][0]["content"] == "You have $500.00 in your account."
    assert stu.get(f"/api/datasets/{version}/export", params={"format": "csv"}).status_code == 400
    assert stu.get(f"/api/datasets/{version}/exports").json()[0]["format"] == "openai-dpo"

    env.person("globex", "stu", ("data_steward",))
    other = env.login("globex", "stu")
    assert other.get("/api/datasets").json() == []
    assert other.get(f"/api/datasets/{version}/items").status_code == 404
    assert other.get("/api/review/queues").json() == []
    assert stu.delete(f"/api/datasets/{version}").status_code == 204
    assert stu.get("/api/datasets").json() == []


def test_an_id_too_large_for_the_database_is_refused_not_an_overflow(env: Env) -> None:
    env.person("acme", "rex", ("reviewer",))
    rex = env.login("acme", "rex")
    assert rex.get("/api/review/items/13835058055198277632").status_code == 422
    assert (
        rex.post(
            "/api/conversations/c1/messages/99999999999999999999/feedback", json={"rating": "up"}
        ).status_code
        == 422
    )
