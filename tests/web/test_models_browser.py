"""Model versions in a real browser, with the worker running: a model steward starts a training
job from the Models page, watches it go through its stages (a durable process on the worker),
reads the new version's figures against the model serving now, promotes it through the gate (or
reads why it was refused) and rolls it back; every decision is listed under the version."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from procpilot.api.app import create_app
from procpilot.domain.access import Principal
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings
from tests.conftest import MINI
from tests.llm.server import LoopbackServer
from tests.web.test_browser import browser, log_in, shot  # noqa: F401 - the fixture

PASSWORD = "model-desk-password"
STEWARD = Principal("default", "mia", ("model_steward", "data_steward"))


@pytest.fixture(scope="module")
def desk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("model-desk")
    packs = root / "packs"
    packs.mkdir()
    (packs / "mini").symlink_to(MINI)
    settings = Settings(data_dir=root / "data", packs_dir=packs)
    container = build(settings)
    container.accounts.ensure_account("default", "mia", PASSWORD, STEWARD.roles, display_name="Mia")
    container.accounts.ensure_account("default", "cora", PASSWORD, ("agent_user",), display_name="Cora")
    for n in range(5):
        for line in ("I need some days off", str(n + 2)):
            container.conversations.handle(
                tenant="default", pack_id="mini", conversation_id=f"l{n}", text=line, user_id="cora"
            )
        container.conversations.handle(
            tenant="default",
            pack_id="mini",
            conversation_id=f"b{n}",
            text="what is my balance",
            user_id="cora",
        )
    container.datasets.build(STEWARD, "leave", {"packs": ["mini"]})
    # The loopback server runs no lifespan: the durable processes start here, as a worker's do.
    container.start_processes("model-desk")
    with LoopbackServer(create_app(settings, container)) as server:  # type: ignore[arg-type]
        yield server.url.removesuffix("/v1")
    container.close()


def test_train_from_the_page_then_promote_or_refuse_and_roll_back(browser: Browser, desk_url: str) -> None:  # noqa: F811
    cora = log_in(browser, desk_url, "cora", PASSWORD)
    expect(cora.locator("#nav-models")).to_have_count(0)
    assert cora.goto("/models").status == 403

    mia = log_in(browser, desk_url, "mia", PASSWORD)
    mia.click("#nav-models")
    expect(mia).to_have_url(re.compile(r"/models$"))
    mia.select_option("select[name=pack]", "mini")
    mia.fill("input[name=steps]", "2")
    mia.uncheck("input[name=run_tests]")
    mia.click("#start-training button[type=submit]")
    expect(mia.locator("tr.job")).to_have_count(1)
    shot(mia, "30-training-job")
    # The page follows the job (htmx, every 3 s) until the worker has recorded the version.
    expect(mia.locator("tr.job[data-status='finished']")).to_have_count(1, timeout=600_000)
    mia.reload()
    version = mia.locator("tr.version")
    expect(version).to_have_count(1)
    expect(version).to_have_attribute("data-status", "candidate")
    expect(version.locator(".figure-commands_exact td")).to_have_count(3)
    expect(version.locator(".figure-tests_passed")).to_have_count(0)  # not asked for
    shot(mia, "31-model-candidate")

    version.locator("button.promote").click()
    if mia.locator("p.error[role=alert]").count():
        # The gate refused: the page says why, and the refusal is on record under the version.
        expect(mia.locator("body")).to_contain_text("worse than the baseline")
        mia.goto("/models")
        expect(mia.locator("tr.events")).to_contain_text("promotion refused")
        shot(mia, "32-model-refused")
        return
    expect(mia.locator("tr.version")).to_have_attribute("data-status", "promoted")
    expect(mia.locator("tr.events")).to_contain_text("promoted")
    shot(mia, "32-model-promoted")
    mia.locator("button.rollback").click()
    expect(mia.locator("tr.version")).to_have_attribute("data-status", "retired")
    expect(mia.locator("tr.events")).to_contain_text("rolled back")
    shot(mia, "33-model-rolled-back")
