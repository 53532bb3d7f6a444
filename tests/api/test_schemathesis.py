"""Property-based requests from /openapi.json (schemathesis) as an authenticated admin who may
also talk and approve: no answer is a server error, and every error is problem+json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from procpilot.services.platform.container import Container
from tests.api.conftest import Env, make_env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    for env in make_env(tmp_path_factory.mktemp("schemathesis")):
        # Something to find: a conversation waiting for an approval, so ids in paths can exist.
        me = env.key("default", ("agent_user",))
        cid = env.client.post(
            "/api/conversations", json={"pack": "mini", "text": "I need some days off"}, headers=me
        ).json()["conversation_id"]
        env.client.post(f"/api/conversations/{cid}/messages", json={"text": "2"}, headers=me)
        yield env


@pytest.fixture(scope="module")
def admin_key(served: Env) -> str:
    container: Container = served.container
    return container.accounts.issue_key(
        "default", "schemathesis", ("admin", "approver", "agent_user", "manager")
    )


def test_no_server_errors(served: Env, admin_key: str) -> None:
    # The API is driven operation by operation with Hypothesis (schemathesis' own pytest plugin
    # does not run under pytest 9 yet).
    schema = schemathesis.openapi.from_asgi("/openapi.json", served.client.app)
    headers = {"Authorization": f"Bearer {admin_key}"}
    tried = 0
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                assert response.headers["content-type"][0].startswith("application/problem+json"), where

        run()
        tried += 1
    assert tried >= 30  # every operation of the API was exercised
