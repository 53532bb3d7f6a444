"""Fixtures for service tests: the mini pack (and a broken one) on a temporary SQLite database,
and `database_url` for tests that run on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from tests.conftest import MINI, PG_ADMIN_URL


@pytest.fixture
def packs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "packs"
    shutil.copytree(MINI, root / "mini")
    shutil.copytree(MINI, root / "mini2")
    (root / "mini2" / "pack.yaml").write_text(
        (MINI / "pack.yaml").read_text().replace("id: mini", "id: mini2")
    )
    broken = root / "broken"
    (broken / "flows").mkdir(parents=True)
    (broken / "pack.yaml").write_text("id: broken\n")
    (broken / "flows" / "x.yaml").write_text("id: x\nsteps:\n  - collect: nothing\n")
    return root


@pytest.fixture
def container(tmp_path: Path, packs_dir: Path) -> Iterator[Container]:
    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir, tool_retry_base_seconds=0.01))
    yield c
    c.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """'' (SQLite files in the data folder) or a fresh PostgreSQL database (DBOS adds its schema)."""
    if request.param == "sqlite":
        yield ""
        return
    name = f"procpilot_proc_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
