"""Training and model versions over HTTP: who may, clear errors, and tenants kept apart (the job
itself runs in the service tests and the browser test)."""

from __future__ import annotations

from tests.api.conftest import Env


def test_jobs_and_versions_need_the_models_role_and_say_what_is_wrong(env: Env) -> None:
    env.person("acme", "cleo", ("agent_user",))
    env.person("acme", "stu", ("data_steward",))
    env.person("acme", "mo", ("model_steward", "data_steward"))
    env.person("globex", "gil", ("model_steward",))
    cleo, stu, mo, gil = (env.login(t, n) for t, n in (("acme", "cleo"), ("acme", "stu"), ("acme", "mo"),
                                                      ("globex", "gil")))  # fmt: skip
    cleo.post("/api/conversations", json={"pack": "mini", "text": "what is my balance"})
    version = mo.post("/api/datasets", json={"name": "d", "query": {}}).json()["id"]

    assert stu.get("/api/models").status_code == 403
    assert stu.post("/api/training/jobs", json={"pack": "mini", "dataset": version}).status_code == 403
    assert mo.get("/api/models").json() == []
    assert mo.get("/api/training/jobs").json() == []
    assert (
        mo.post("/api/training/jobs", json={"pack": "mini", "dataset": version, "gpu": 1}).status_code == 422
    )
    assert (
        mo.post("/api/training/jobs", json={"pack": "mini", "dataset": version, "steps": 0}).status_code
        == 422
    )
    missing = mo.post("/api/training/jobs", json={"pack": "mini", "dataset": "nope@1-x"})
    assert missing.status_code == 404 and "no dataset version" in missing.json()["detail"]
    unknown = mo.post("/api/training/jobs", json={"pack": "nosuch", "dataset": version})
    assert unknown.status_code == 404 and "nosuch" in unknown.json()["detail"]
    # Another tenant's dataset is not there for it.
    assert gil.post("/api/training/jobs", json={"pack": "mini", "dataset": version}).status_code == 404

    started = mo.post("/api/training/jobs", json={"pack": "mini", "dataset": version, "steps": 3})
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["status"], job["total"], job["created_by"]) == ("queued", 3, "mo")
    assert mo.get(f"/api/training/jobs/{job['id']}").json()["stage"] == "queued"
    assert gil.get(f"/api/training/jobs/{job['id']}").status_code == 404
    assert mo.get("/api/models/nope").status_code == 404
    assert mo.post("/api/models/nope/promote").status_code == 404
    rollback = mo.post("/api/models/rollback", json={"pack": "mini"})
    assert rollback.status_code == 400 and "no model version is promoted" in rollback.json()["detail"]
