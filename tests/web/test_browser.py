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
    # The flow's diagram marks the steps the instance ran, up to its end.
    diagram = olga.locator("#instance-diagram svg.flow-diagram")
    expect(diagram.locator("g.step.visited[data-step='file']")).to_have_count(1)
    expect(diagram.locator("g.step.visited[data-step='END']")).to_have_count(1)
    expect(diagram.locator("g.step.visited[data-step='rejected']")).to_have_count(0)
    olga.check("#show-technical")
    expect(timeline.locator("li.technical").first).to_be_visible()
    expect(olga.locator("table", has_text="fine, thanks")).to_contain_text("approved")
    expect(olga.locator("table", has_text="fine, thanks")).to_contain_text("Eva Engel")
    shot(olga, "10-timeline")


def test_asking_for_changes_sends_the_claim_back_to_be_amended(browser: Browser, base_url: str) -> None:
    olga = log_in(browser, base_url, "olga")
    start_chat(olga, "workplace", "I want to claim an expense", "How much did you pay?")
    say(olga, "60 euros", "Which category")
    choose(olga, "meals", "On which day")
    say(olga, "yesterday", "Where did you pay")
    say(olga, "Cafe Rossi", "charged to cost centre CC-500")
    choose(olga, "Yes", "sent this to Eva Engel for approval")

    eva = log_in(browser, base_url, "eva")
    eva.click("#nav-approvals")
    task = eva.locator("article.task", has_text="€60.00 for meals at Cafe Rossi")
    # Asking for changes without saying which is refused by the form itself.
    task.get_by_role("button", name="Ask for changes").click()
    expect(task.locator("input[name=comment]:invalid")).to_have_count(1)
    task.locator("input[name=comment]").fill("the receipt says 64 euros")
    task.get_by_role("button", name="Ask for changes").click()
    expect(task).to_have_count(0)

    # Olga is asked what to change, changes the amount, and the claim goes back to Eva.
    expect(olga.locator(".msg.bot", has_text="needs changes: the receipt says 64 euros")).to_have_count(
        1, timeout=15_000
    )
    expect(olga.locator(".msg.bot").last).to_contain_text("€60.00 for meals at Cafe Rossi")
    shot(olga, "18-changes-asked")
    before = olga.locator(".msg.bot").count()
    olga.locator(".msg.bot", has_text="Tell me what to change").get_by_role(
        "button", name="Change the amount"
    ).click()
    wait_reply(olga, before, "How much did you pay?")
    say(olga, "64 euros", "€64.00 for meals at Cafe Rossi")
    choose(olga, "Yes", "sent this to Eva Engel for approval")
    shot(olga, "19-changes-resent")

    eva.reload()
    amended = eva.locator("article.task", has_text="€64.00 for meals at Cafe Rossi")
    expect(amended).to_contain_text("Amended after your comment “the receipt says 64 euros”")
    expect(amended).to_contain_text("Assigned to: Eva Engel")
    shot(eva, "20-changes-back-to-approver")
    amended.get_by_role("button", name="Approve").click()
    expect(olga.locator(".msg.bot", has_text="reference EX-")).to_have_count(1, timeout=15_000)


PHONE = {"width": 390, "height": 844}


def both_widths(page: Page, name: str) -> None:
    """The page at desktop width, then at a phone's (and back)."""
    shot(page, name)
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)
    shot(page, f"{name}-phone")
    if desktop:
        page.set_viewport_size(desktop)


def test_a_person_asks_for_a_human_and_an_agent_takes_over_at_the_desk(
    browser: Browser, base_url: str
) -> None:
    olga = log_in(browser, base_url, "olga")
    start_chat(olga, "workplace", "I want to claim an expense", "How much did you pay?")
    say(olga, "42 euros", "Which category")
    say(olga, "can I talk to a real person please", "Someone will get back to you shortly")
    say(olga, "are you there?", "number 1 in the queue")
    expect(olga.locator("#with-person")).to_contain_text("Waiting for a person to take over")

    sam = log_in(browser, base_url, "sam")
    expect(sam.locator("#nav-approvals")).to_have_count(0)
    expect(sam.locator("#desk-count")).to_have_text("1")
    sam.click("#nav-desk")
    row = sam.locator("#queue tr", has_text="Olga Okafor")
    expect(row).to_contain_text("I want to claim an expense")
    expect(row).to_contain_text("waiting")
    both_widths(sam, "21-desk-queue")
    row.get_by_role("button", name="Take").click()
    expect(sam).to_have_url(re.compile(r"/desk/h_"))
    understood = sam.locator("#understood")
    expect(understood).to_contain_text("claim an expense")
    expect(understood).to_contain_text("amount")
    expect(understood).to_contain_text("42")
    expect(sam.locator("#messages")).to_contain_text("are you there?")
    expect(sam.locator("#chat[data-ready='1']")).to_have_count(1)

    # Olga is told a person took over; Sam's reply reaches her chat marked as a person's.
    expect(olga.locator(".msg.agent", has_text="Sam Support from our team has taken over")).to_have_count(
        1, timeout=15_000
    )
    expect(olga.locator("#with-person")).to_have_text("👤 You are talking with a person: Sam Support")
    sam.fill("#text", "Hi Olga, Sam here. What do you need?")
    sam.press("#text", "Enter")
    agent = olga.locator(".msg.agent", has_text="Sam here")
    expect(agent).to_have_count(1, timeout=15_000)
    expect(agent.locator(".who")).to_have_text("Sam Support · a person")
    olga.fill("#text", "I would rather book two days off")
    olga.press("#text", "Enter")
    expect(sam.locator(".msg.user", has_text="two days off")).to_have_count(1, timeout=15_000)
    both_widths(sam, "22-desk-conversation")
    both_widths(olga, "23-chat-with-a-person")

    # Sam starts the leave request for her; the assistant asks Olga what it needs.
    sam.select_option("#start-for select[name=flow]", label="request leave")
    sam.locator("#start-for button").click()
    expect(sam.locator("#queue-empty")).to_be_visible()
    expect(olga.locator(".msg.bot").last).to_contain_text("From which day?", timeout=15_000)
    expect(olga.locator("#with-person")).to_have_count(0)
    say(olga, "next Monday", "How many working days?")
    shot(olga, "24-back-with-the-assistant")


def test_a_conversation_is_renamed_archived_and_restored(browser: Browser, base_url: str) -> None:
    olga = log_in(browser, base_url, "olga")
    start_chat(olga, "workplace", "remind me to call the bank in 2 hours", "")
    conversation = olga.url
    olga.locator("#chat-tools summary, .chat-tools summary").click()
    olga.fill("#rename input[name=title]", "Bank call")
    olga.locator("#rename button").click()
    expect(olga.locator("#chat-title")).to_contain_text("Bank call")
    olga.goto("/chat")
    expect(olga.locator("#conversations")).to_contain_text("Bank call")
    olga.goto(conversation)
    olga.locator("#archive button").click()
    expect(olga).to_have_url(re.compile(r"/chat$"))
    expect(olga.locator("#conversations .title", has_text="Bank call")).to_have_count(0)
    olga.click("#toggle-archived")
    expect(olga.locator("#conversations")).to_contain_text("Bank call")
    both_widths(olga, "25-archived")
    olga.locator("#conversations a", has_text="Bank call").click()
    olga.get_by_role("button", name="Restore").click()
    olga.goto("/chat")
    expect(olga.locator("#conversations")).to_contain_text("Bank call")


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


OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def in_chinese_on_a_phone(
    browser: Browser, base_url: str, username: str, password: str = DEMO_PASSWORD
) -> Page:
    page = log_in(browser, base_url, username, password)
    page.set_viewport_size(PHONE)
    page.select_option("select[name=language]", "zh")
    expect(page.locator("html[lang='zh-CN']")).to_have_count(1)
    return page


def tour(page: Page, stops: list[tuple[str, str, str]]) -> None:
    """Visit each page, check it is in Chinese and fits a phone's width, save it."""
    for path, name, selector in stops:
        page.goto(path)
        expect(page.locator(selector).first).to_be_visible()
        assert page.evaluate(OVERFLOW) <= 1, f"{path} is wider than a phone"
        shot(page, f"zh-phone-{name}")


def test_every_journey_in_chinese_at_a_phone_width(browser: Browser, base_url: str) -> None:
    clara = in_chinese_on_a_phone(browser, base_url, "clara")
    expect(clara.locator("#nav-chat")).to_have_text("对话")
    start_chat(clara, "workplace", "I want to claim an expense", "How much did you pay?")
    say(clara, "950 euros", "Which category")
    choose(clara, "equipment", "On which day")
    say(clara, "yesterday", "Where did you pay")
    say(clara, "Laptop store", "charged to cost centre")
    choose(clara, "Yes", "for approval")
    assert clara.evaluate(OVERFLOW) <= 1
    shot(clara, "zh-phone-chat")
    tour(
        clara,
        [
            ("/chat", "chat-index", "#conversations"),
            ("/approvals", "approvals", "main h1"),
            ("/processes", "processes", "main table"),
            ("/packs", "packs", "main table"),
            ("/packs/workplace", "pack", "svg.flow-diagram"),
        ],
    )
    clara.goto("/processes")
    clara.locator("tr", has_text="claim an expense").first.get_by_role("link").click()
    expect(clara.locator("#timeline")).to_be_visible()
    # Waiting for finance: the diagram marks where the claim is now.
    expect(clara.locator("#instance-diagram g.step.current[data-step='finance']")).to_have_count(1)
    assert clara.evaluate(OVERFLOW) <= 1
    shot(clara, "zh-phone-timeline")

    eva = in_chinese_on_a_phone(browser, base_url, "eva")
    tour(eva, [("/approvals", "approvals-eva", "main h1")])

    start_chat(clara, "workplace", "can I speak to a real person", "Someone will get back to you shortly")
    sam = in_chinese_on_a_phone(browser, base_url, "sam")
    tour(sam, [("/desk", "desk", "#queue")])
    sam.locator("#queue tr", has_text="Clara Costa").get_by_role("button").click()
    expect(sam.locator("#understood")).to_be_visible()
    assert sam.evaluate(OVERFLOW) <= 1
    shot(sam, "zh-phone-desk-conversation")
    sam.locator("#close-handoff").click()

    rita = in_chinese_on_a_phone(browser, base_url, "rita")
    tour(
        rita,
        [
            ("/review", "review", "main h1"),
            ("/datasets", "datasets", "main h1"),
            ("/models", "models", "main h1"),
        ],
    )
    admin = in_chinese_on_a_phone(browser, base_url, "admin", "procpilot-admin")
    tour(
        admin,
        [
            ("/admin/users", "admin-users", "#users"),
            ("/admin/keys", "admin-keys", "main table, main form"),
            ("/admin/roles", "admin-roles", "main table"),
            ("/admin/tenants", "admin-tenants", "main form"),
            ("/no/such/page", "not-found", "main"),
        ],
    )
    for page in (clara, eva, sam, rita, admin):
        page.goto("/processes")
        page.select_option("select[name=language]", "en")  # the other tests read English
