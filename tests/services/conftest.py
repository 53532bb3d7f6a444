"""A container serving the mini pack (and a broken one), on a temporary SQLite database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from procpilot.services.container import Container, build
from procpilot.services.settings import Settings
from tests.conftest import MINI


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
