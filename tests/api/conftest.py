"""The app in-process over the mini pack, with tenants, people and API keys to call it as."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from procpilot.api.app import create_app
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from tests.conftest import MINI

PASSWORD = "correct horse battery"


@dataclass
class Env:
    client: TestClient
    container: Container

    def key(
        self, tenant: str = "acme", roles: tuple[str, ...] = ("agent_user",), name: str = "tests"
    ) -> dict:
        """Headers that authenticate as a new API key of ``tenant`` with ``roles``."""
        return {"Authorization": f"Bearer {self.container.accounts.issue_key(tenant, name, roles)}"}

    def person(self, tenant: str, username: str, roles: tuple[str, ...], user_id: str | None = None) -> None:
        self.container.accounts.ensure_account(tenant, username, PASSWORD, roles, user_id=user_id)

    def login(self, tenant: str, username: str) -> TestClient:
        """A separate client (its own cookie jar) logged in as the person; CSRF header preset."""
        client = TestClient(self.client.app)
        response = client.post(
            "/api/session", json={"tenant": tenant, "username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return client


def make_env(tmp_path: Path, *, knowledge: bool = False, database_url: str = "") -> Iterator[Env]:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini").symlink_to(MINI)
    settings = Settings(data_dir=tmp_path / "data", packs_dir=packs, database_url=database_url)
    container = build(settings)
    if knowledge:
        container.prepare()  # ingests the mini pack's knowledge/ (shared by every tenant)
    with TestClient(create_app(settings, container)) as client:
        yield Env(client, container)
    container.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path)
