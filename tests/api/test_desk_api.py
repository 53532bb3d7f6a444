"""The agent's desk and a person's own conversations over HTTP: roles, 404 across tenants, 409
for a conversation already taken, renaming and archiving one's own conversations only."""

from __future__ import annotations

from tests.api.conftest import Env


def test_the_desk_over_http_keeps_tenants_and_roles_apart(env: Env) -> None:
    client = env.client
    env.person("acme", "emma", ("agent_user",))
    emma = env.login("acme", "emma")
    cid = emma.post("/api/conversations", json={"pack": "mini", "text": "send money to a friend"}).json()[
        "conversation_id"
    ]
    handed = emma.post(f"/api/conversations/{cid}/messages", json={"text": "I want a human"}).json()
    assert handed["handed_off"] is True
    acme_agent = env.key("acme", ("agent",), name="acme desk")
    globex_agent = env.key("globex", ("agent",), name="globex desk")

    assert emma.get("/api/handoffs").status_code == 403  # talking to assistants is not the desk
    (waiting,) = client.get("/api/handoffs", headers=acme_agent).json()
    assert waiting["conversation_id"] == cid and waiting["status"] == "waiting"
    assert waiting["understood"]["requests"][0]["flow"] == "transfer_money"
    assert client.get("/api/handoffs", headers=globex_agent).json() == []
    hid = waiting["id"]
    for method, path in (("get", ""), ("post", "/take")):
        assert getattr(client, method)(f"/api/handoffs/{hid}{path}", headers=globex_agent).status_code == 404

    assert (
        client.post(f"/api/handoffs/{hid}/messages", json={"text": "hi"}, headers=acme_agent).status_code
        == 409
    )
    taken = client.post(f"/api/handoffs/{hid}/take", headers=acme_agent)
    assert taken.status_code == 200 and taken.json()["status"] == "taken"
    assert client.post(f"/api/handoffs/{hid}/take", headers=env.key("acme", ("agent",))).status_code == 409
    assert (
        client.post(
            f"/api/handoffs/{hid}/messages", json={"text": "Hello, Emma"}, headers=acme_agent
        ).status_code
        == 204
    )
    roles = [m["role"] for m in emma.get(f"/api/conversations/{cid}").json()["messages"]]
    assert roles[-2:] == ["agent", "agent"]
    assert (
        client.post(f"/api/handoffs/{hid}/flows", json={"flow": "nope"}, headers=acme_agent).status_code
        == 404
    )
    started = client.post(f"/api/handoffs/{hid}/flows", json={"flow": "transfer_money"}, headers=acme_agent)
    assert started.status_code == 200
    assert started.json()["messages"][0]["text"] == "Who should receive the money?"
    assert client.post(f"/api/handoffs/{hid}/hand-back", headers=acme_agent).status_code == 409
    assert (
        client.post(f"/api/handoffs/{hid}/messages", json={"text": ""}, headers=acme_agent).status_code == 422
    )


def test_a_person_renames_and_archives_only_their_own_conversations(env: Env) -> None:
    env.person("acme", "emma", ("agent_user",))
    env.person("acme", "fred", ("agent_user",))
    emma, fred = env.login("acme", "emma"), env.login("acme", "fred")
    cid = emma.post("/api/conversations", json={"pack": "mini", "text": "what's my balance?"}).json()[
        "conversation_id"
    ]
    assert emma.patch(f"/api/conversations/{cid}", json={"title": "  My   balance "}).status_code == 204
    assert [c["title"] for c in emma.get("/api/conversations").json()] == ["My balance"]
    assert fred.patch(f"/api/conversations/{cid}", json={"title": "mine now"}).status_code == 404
    assert emma.patch(f"/api/conversations/{cid}", json={"colour": "red"}).status_code == 422
    assert emma.patch(f"/api/conversations/{cid}", json={"archived": True}).status_code == 204
    assert emma.get("/api/conversations").json() == []
    assert [c["id"] for c in emma.get("/api/conversations?archived=true").json()] == [cid]
    assert emma.get(f"/api/conversations/{cid}").status_code == 200  # archived, not deleted
    emma.patch(f"/api/conversations/{cid}", json={"archived": False, "title": ""})
    assert [c["title"] for c in emma.get("/api/conversations").json()] == ["what's my balance?"]
