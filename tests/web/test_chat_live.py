"""The chat as a person sees it, in a real browser: a typing indicator and Send disabled while the
assistant works, an error said in the chat when a message is not sent, replies in Markdown with
nothing raw let through, the Approvals badge, the favicon, the API documentation page, and the
header on a phone."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect

from procpilot.api.app import create_app
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings
from tests.conftest import MINI
from tests.llm.server import LoopbackServer
from tests.web.test_browser import browser, log_in, shot  # noqa: F401 - the fixture

PASSWORD = "live-chat-password"
FORMATTED = """
  - id: formatted_help
    name: formatted help
    description: Help text with formatting.
    examples: [show me the formatted help]
    steps:
      - respond: "**Three things** you can do:\\n\\n- check your *balance*\\n- ask for leave\\n\\n<b>raw</b> <img src=x onerror=alert(1)> [our site](https://example.org) [bad](javascript:alert(1))"
"""


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("live-chat")
    pack = root / "packs" / "mini"
    shutil.copytree(MINI, pack)
    flows = pack / "flows" / "others.yaml"
    flows.write_text(flows.read_text() + FORMATTED)
    settings = Settings(data_dir=root / "data", packs_dir=root / "packs")
    container = build(settings)
    container.prepare()
    container.accounts.ensure_account("default", "pia", PASSWORD, ("agent_user",), display_name="Pia")
    container.accounts.ensure_account("default", "max", PASSWORD, ("agent_user", "approver", "manager"),
                                      display_name="Max")  # fmt: skip
    with LoopbackServer(create_app(settings, container)) as server:  # type: ignore[arg-type]
        yield server.url.removesuffix("/v1")
    container.close()


def open_chat(page: Any, text: str, expected: str) -> None:
    page.goto("/chat")
    page.select_option("#pack", "mini")
    page.fill("#first-message", text)
    page.click("#new-chat button[type=submit]")
    expect(page).to_have_url(re.compile(r"/chat/c_"))
    expect(page.locator(".msg.bot").last).to_contain_text(expected)
    expect(page.locator("#chat[data-ready='1']")).to_have_count(1)


def test_typing_markdown_errors_and_the_badge(browser: Browser, chat_url: str) -> None:  # noqa: F811
    pia = log_in(browser, chat_url, "pia", PASSWORD)
    open_chat(pia, "show me the formatted help", "Three things")
    reply = pia.locator(".msg.bot .md").last
    expect(reply.locator("strong")).to_have_text("Three things")
    expect(reply.locator("li")).to_have_count(2)
    expect(reply.locator("em")).to_have_text("balance")
    expect(reply.locator("b, img, script")).to_have_count(0)  # raw HTML shows as text
    expect(reply).to_contain_text("<b>raw</b>")
    expect(reply.locator("a[href='https://example.org'][rel='noopener noreferrer']")).to_have_count(1)
    expect(reply.locator("a[href^='javascript']")).to_have_count(0)
    shot(pia, "40-chat-markdown")

    # A cited answer: the citation is a card that opens the document at its passage.
    open_chat(pia, "when are branches open?", "9 to 5")
    card = pia.locator(".msg.bot .md a[href^='/knowledge/mini/documents/']").last
    expect(card).to_contain_text("Opening hours")
    shot(pia, "45-chat-citation")
    card.click()
    expect(pia).to_have_url(re.compile(r"/knowledge/mini/documents/\d+#chunk-\d+$"))
    expect(pia.locator("h1")).to_have_text("Transfer limits")
    expect(pia.locator(".passage:target")).to_contain_text("Branches are open from 9 to 5")
    shot(pia, "46-document-at-passage")
    assert pia.goto("/knowledge/mini/documents/999").status == 404

    # While the message is on its way: the indicator, and Send disabled; then the reply, and not.
    held: list[Route] = []
    pia.route(re.compile(r"/chat/c_[^/]+/messages$"), lambda route: held.append(route))
    open_chat(pia, "show me the formatted help", "Three things")
    pia.fill("#text", "I need some days off")
    pia.press("#text", "Enter")
    expect(pia.locator("#typing")).to_be_visible()
    expect(pia.locator("#send button[type=submit]")).to_be_disabled()
    shot(pia, "41-chat-typing")
    assert len(held) == 1
    held[0].continue_()
    pia.unroute(re.compile(r"/chat/c_[^/]+/messages$"))
    expect(pia.locator(".msg.bot").last).to_contain_text("How many days")
    expect(pia.locator("#typing")).to_have_count(0)
    expect(pia.locator("#send button[type=submit]")).to_be_enabled()

    # A message the server refuses is said in the chat, and Send comes back.
    pia.route(re.compile(r"/chat/c_[^/]+/messages$"), lambda route: route.fulfill(
        status=503, content_type="application/problem+json",
        body='{"title": "Service Unavailable", "detail": "the database is unreachable"}'))  # fmt: skip
    pia.fill("#text", "3")
    pia.press("#text", "Enter")
    expect(pia.locator(".msg.failed")).to_contain_text("the database is unreachable")
    expect(pia.locator("#typing")).to_have_count(0)
    expect(pia.locator("#send button[type=submit]")).to_be_enabled()
    shot(pia, "42-chat-not-sent")
    pia.unroute(re.compile(r"/chat/c_[^/]+/messages$"))
    pia.fill("#text", "3")
    pia.press("#text", "Enter")
    expect(pia.locator(".msg.bot").last).to_contain_text("approval")

    # The conversations, titled by what was asked first, with the last message; and searched.
    pia.goto("/chat")
    titles = pia.locator("#conversations .conversation .title")
    expect(titles.first).to_have_text("show me the formatted help")
    expect(pia.locator("#conversations")).to_contain_text("when are branches open?")
    pia.fill("#search-chats input[name=q]", "Branches")
    pia.click("#search-chats button")
    expect(pia.locator("#conversations .conversation")).to_have_count(1)
    expect(titles.first).to_have_text("when are branches open?")
    pia.fill("#search-chats input[name=q]", "100%_nothing")
    pia.click("#search-chats button")
    expect(pia.locator("#no-conversations")).to_be_visible()
    shot(pia, "47-conversations-searched")

    # Max, a manager, sees one task waiting on the Approvals badge.
    mx = log_in(browser, chat_url, "max", PASSWORD)
    expect(mx.locator("#approvals-count .count")).to_have_text("1")
    assert mx.request.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
    expect(mx.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")


def test_api_documentation_and_the_header_on_a_phone(browser: Browser, chat_url: str) -> None:  # noqa: F811
    page = browser.new_context(base_url=chat_url).new_page()
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("procpilot")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    shot(page, "43-api-docs")

    phone = browser.new_context(base_url=chat_url, viewport={"width": 390, "height": 800}).new_page()
    phone.goto("/chat")
    phone.fill("input[name=username]", "pia")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    expect(phone).to_have_url(re.compile(r"/chat$"))
    logout = phone.locator("header .me button[type=submit]")
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "44-phone-chat-index")
