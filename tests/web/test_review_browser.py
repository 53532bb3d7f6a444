"""Data collection in a real browser: a customer's thumbs down reaches a reviewer's queue, the
reviewer corrects a slot and the reply, a data steward builds a dataset version from it, and its
JSONL export carries none of the customer's email, phone or name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from procpilot.api.app import create_app
from procpilot.domain.access import Principal
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings
from tests.conftest import ROOT
from tests.llm.server import LoopbackServer
from tests.web.test_browser import browser, log_in, say, shot, start_chat  # noqa: F401 - the fixture

PASSWORD = "review-desk-password"
EMAIL = "noah.brown7922@example.com"
PHONE = "415-555-0132"


@pytest.fixture(scope="module")
def desk_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("review-desk")
    packs = root / "packs"
    packs.mkdir()
    (packs / "retail").symlink_to(ROOT / "packs" / "retail")
    settings = Settings(data_dir=root / "data", packs_dir=packs)
    container = build(settings)
    container.prepare()
    for username, role in (("cora", "agent_user"), ("rita", "reviewer"), ("sam", "data_steward")):
        container.accounts.ensure_account(
            "default", username, PASSWORD, (role,), display_name=username.title()
        )
    steward = Principal("default", "sam", ("data_steward",))
    container.reviews.save_queue(
        steward, "thumbs-down", name="Replies rated down", signals=["thumbs_down"],
        guideline="Correct what the assistant understood and write the reply it should have given.",
    )  # fmt: skip
    with LoopbackServer(create_app(settings, container)) as server:  # type: ignore[arg-type]
        yield server.url.removesuffix("/v1")
    container.close()


def test_thumbs_down_review_dataset_and_a_redacted_export(browser: Browser, desk_url: str) -> None:  # noqa: F811
    cora = log_in(browser, desk_url, "cora", PASSWORD)
    start_chat(cora, "retail", "I want to return something", "email")
    say(cora, f"I'm Noah Brown, my email is {EMAIL}, you can call me on {PHONE}", "order")
    rated = cora.locator(".msg.bot").last
    rated.hover()
    rated.locator(".rate-down").click()
    expect(rated.locator(".rate[data-rated='down']")).to_have_count(1)
    shot(cora, "20-thumbs-down")

    rita = log_in(browser, desk_url, "rita", PASSWORD)
    expect(rita.locator("#nav-review")).to_have_count(1)
    rita.click("#nav-review")
    expect(rita.locator("#queue-thumbs-down")).to_contain_text("1")
    rita.click("#queue-thumbs-down a")
    expect(rita.locator(".review")).to_have_count(1)
    expect(rita.locator(".this-turn").first).to_contain_text(EMAIL)
    expect(rita.locator(".guideline")).to_contain_text("Correct what the assistant understood")
    slot = rita.locator("input[name^='slot:']").first
    expect(slot).to_have_count(1)
    slot.fill("noah.brown@example.org")
    rita.fill(
        "#reply", "Thank you, Noah Brown. Which of your delivered orders is it: #W7678072 or another one?"
    )
    shot(rita, "21-review")
    rita.keyboard.press("Control+Enter")  # the submit shortcut
    expect(rita.locator("#nothing-left")).to_have_count(1)
    shot(rita, "22-review-done")

    sam = log_in(browser, desk_url, "sam", PASSWORD)
    sam.click("#nav-datasets")
    sam.fill("#build-dataset input[name=name]", "retail-reviewed")
    sam.select_option("#build-dataset select[name=pack]", "retail")
    sam.check("#build-dataset input[name=reviewed_only]")
    sam.click("#build-dataset button[type=submit]")
    row = sam.locator("#version-retail-reviewed-1")
    expect(row).to_contain_text("retail-reviewed@1")
    shot(sam, "23-datasets")
    href = row.locator("a.export[data-format='openai-sft']").get_attribute("href")
    assert href is not None
    exported = sam.request.get(desk_url + href)
    assert exported.status == 200, exported.text()
    text = exported.text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 1
    assert rows[0]["messages"][-1]["content"].startswith("Thank you, <PERSON_1>.")
    for secret in (EMAIL, "noah.brown@example.org", PHONE, "Noah", "Brown"):
        assert secret not in text, secret
    assert re.search(r"<EMAIL_\d>", text) and re.search(r"<PHONE_\d>", text)
    # The reviewer may not export; the export is on record.
    assert rita.request.get(desk_url + href).status == 403
    recorded = sam.request.get(desk_url + href.split("/export")[0] + "/exports").json()
    assert [(e["format"], e["exported_by"]) for e in recorded] == [("openai-sft", "sam")]
