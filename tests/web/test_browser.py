"""The web app in a real browser: Playwright driving Debian's chromium, headless, against the
server on loopback with the retail and workplace packs. Every page visited is saved as a
screenshot under test-artifacts/screenshots/ for review."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from procpilot.api.app import create_app
from procpilot.services.platform.container import build
from procpilot.services.platform.demo import DEMO_PASSWORD, ensure_demo_accounts
from procpilot.services.platform.settings import Settings
from tests.conftest import ROOT
from tests.llm.server import LoopbackServer

SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("web")
    packs = root / "packs"
    packs.mkdir()
    for name in ("retail", "workplace"):
        (packs / name).symlink_to(ROOT / "packs" / name)
    settings = Settings(data_dir=root / "data", packs_dir=packs)
    container = build(settings)
    container.prepare()
    ensure_demo_accounts(container.accounts, settings.default_tenant)
    with LoopbackServer(create_app(settings, container)) as server:  # type: ignore[arg-type]
        yield server.url.removesuffix("/v1")
    container.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make browser` (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(browser: Browser, base_url: str, username: str, password: str = DEMO_PASSWORD) -> Page:
    page = browser.new_context(base_url=base_url).new_page()
    page.goto("/chat")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/chat$"))
    return page


NEW_REPLY = """([n, text]) => {
  const added = [...document.querySelectorAll('.msg.bot')].slice(n);
  return added.length > 0 && added.map(e => e.textContent).join(' ').includes(text);
}"""


def wait_reply(page: Page, before: int, expected: str) -> None:
    """Wait until bot messages after the first ``before`` ones arrive and one says ``expected``."""
    page.wait_for_function(NEW_REPLY, arg=[before, expected], timeout=15_000)


def say(page: Page, text: str, expected: str) -> None:
    """Send a message from the chat page and wait for the reply streamed back."""
    before = page.locator(".msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    wait_reply(page, before, expected)


def choose(page: Page, title: str, expected: str) -> None:
    before = page.locator(".msg.bot").count()
    page.locator(".msg.bot").last.get_by_role("button", name=title).click()
    wait_reply(page, before, expected)


def start_chat(page: Page, pack: str, text: str, expected: str) -> None:
    page.goto("/chat")
    page.select_option("#pack", pack)
    page.fill("#first-message", text)
    page.click("#new-chat button[type=submit]")
    expect(page).to_have_url(re.compile(r"/chat/c_"))
    expect(page.locator(".msg.bot").last).to_contain_text(expected)
    expect(page.locator("#chat[data-ready='1']")).to_have_count(1)


def test_log_in_return_claim_approve_and_read_the_timeline(browser: Browser, base_url: str) -> None:
    login = browser.new_context(base_url=base_url).new_page()
    login.goto("/login")
    shot(login, "01-login")
    login.fill("input[name=username]", "olga")
    login.fill("input[name=password]", "not her password")
    login.click("button[type=submit]")
    expect(login.locator(".error")).to_contain_text("Wrong tenant, user name or password")

    olga = log_in(browser, base_url, "olga")
    shot(olga, "02-chat-index")

    # A whole retail return, buttons included.
    start_chat(olga, "retail", "I want to return something", "email")
    say(olga, "noah.brown7922@example.com", "Which delivered order")
    say(olga, "#W7678072", "Which items")
    say(olga, "the kettle and the backpack", "refund")
    say(olga, "paypal", "Shall I go ahead")
    shot(olga, "03-retail-confirm")
    choose(olga, "Yes", "$352.33")
    shot(olga, "04-retail-done")

    # A workplace expense claim waits for Olga's manager.
    start_chat(olga, "workplace", "I want to claim an expense", "How much did you pay?")
    say(olga, "120 euros", "Which category")
    choose(olga, "travel", "On which day")
    say(olga, "yesterday", "Where did you pay")
    say(olga, "Taxi Berlin, receipt 4711", "charged to cost centre CC-500")
    choose(olga, "Yes", "sent this to Eva Engel for approval")
    expect(olga.locator("#waiting")).to_contain_text("Olga Okafor: €120.00")
    shot(olga, "05-claim-waiting")

    # Eva approves it from her inbox, in another browser session.
    eva = log_in(browser, base_url, "eva")
    eva.click("#nav-approvals")
    task = eva.locator("article.task", has_text="Olga Okafor: €120.00 for travel")
    expect(task).to_have_count(1)
    expect(task).to_contain_text("Requested by: Olga Okafor · Assigned to: Eva Engel")
    shot(eva, "06-approvals-inbox")
    task.locator("input[name=comment]").fill("fine, thanks")
    task.get_by_role("button", name="Approve").click()
    expect(eva.locator("#inbox-empty")).to_be_visible()
    shot(eva, "07-approvals-decided")

    # Olga's open chat is told at once, through its event stream, without a reload.
    expect(olga.locator(".msg.bot", has_text="was approved")).to_have_count(1, timeout=15_000)
    expect(olga.locator(".msg.bot").last).to_contain_text("reference EX-")
    expect(olga.locator("#waiting")).to_have_count(0)
    shot(olga, "08-claim-told")

    # The instance timeline is complete and in words: every step, the tool call, the approval,
    # with times and names; the technical record of each folded beside it.
    olga.click("#nav-processes")
    shot(olga, "09-processes")
    row = olga.locator("tr", has_text="claim an expense")
    expect(row).to_contain_text("completed")
    expect(row).not_to_contain_text("e015")
    row.get_by_role("link").click()
    expect(olga.locator("h1")).to_have_text("claim an expense")
    expect(olga.locator("#instance-status")).to_have_attribute("data-status", "completed")
    expect(olga.locator("#instance-status")).to_have_text("completed")
    expect(olga.locator("#started-by")).not_to_have_text("e015")
    timeline = olga.locator("#timeline")
    expect(timeline.locator("li.kind-flow-started .said")).to_have_text("Started: claim an expense")
    expect(timeline.locator("li.kind-approval-decided .said")).to_contain_text(
        "Eva Engel approved: “fine, thanks”"
    )
    expect(timeline.locator("li.kind-tool-completed .said", has_text="file expense: done")).to_have_count(1)
    expect(timeline.locator("li.kind-flow-completed .said")).to_have_text("Done: claim an expense")
    expect(timeline.locator("li.kind-slot-set").first).to_be_visible()
    expect(timeline.locator("li.technical").first).to_be_hidden()
    for kind in ("flow.started", "slot.set", "approval.requested", "approval.decided", "tool.completed"):
        expect(timeline.locator("details code", has_text=kind).first).to_be_attached()
    olga.check("#show-technical")
    expect(timeline.locator("li.technical").first).to_be_visible()
    expect(olga.locator("table", has_text="fine, thanks")).to_contain_text("approved")
    expect(olga.locator("table", has_text="fine, thanks")).to_contain_text("Eva Engel")
    shot(olga, "10-timeline")


def test_pack_browser_admin_pages_and_chinese(browser: Browser, base_url: str) -> None:
    admin = log_in(browser, base_url, "admin", "procpilot-admin")
    admin.click("#nav-packs")
    shot(admin, "11-packs")
    admin.get_by_role("link", name="Workplace services").click()
    diagram = admin.locator("#flow-claim_expense svg.flow-diagram")
    expect(diagram).to_be_visible()
    expect(diagram.locator("g.step[data-step='finance']")).to_have_count(1)
    expect(diagram.locator("path.jump").first).to_be_attached()
    shot(admin, "12-pack-diagrams")

    admin.click("#nav-admin")
    expect(admin.locator("#users")).to_contain_text("olga")
    shot(admin, "13-admin-users")
    admin.fill("input[name=username]", "nina")
    admin.fill("input[name=password]", "a new password")
    admin.locator("form[action='/admin/users'] button").click()
    expect(admin.locator("#users")).to_contain_text("nina")
    admin.get_by_role("link", name="API keys").click()
    admin.fill("input[name=name]", "erp")
    admin.locator("form[action='/admin/keys'] button").click()
    expect(admin.locator("#new-key code")).to_have_text(re.compile(r"^pp_"))
    shot(admin, "14-admin-keys")
    admin.get_by_role("link", name="Roles").click()
    expect(admin.locator("table")).to_contain_text("finance")
    shot(admin, "15-admin-roles")
    admin.get_by_role("link", name="Tenants").click()
    shot(admin, "16-admin-tenants")

    # Each person picks their language; the interface follows.
    admin.select_option("select[name=language]", "zh")
    expect(admin.locator("#nav-chat")).to_have_text("对话")
    expect(admin.locator("#nav-approvals")).to_have_text("审批")
    shot(admin, "17-chinese")
    olga = log_in(browser, base_url, "olga")
    expect(olga.locator("#nav-chat")).to_have_text("Chat")  # Olga still reads English
    expect(olga.locator("#nav-admin")).to_have_count(0)  # and sees no admin pages
    olga.goto("/admin/users")
    expect(olga.locator(".error")).to_contain_text("admin")
