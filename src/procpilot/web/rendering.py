"""Messages shown as Markdown, safely: CommonMark with raw HTML switched off (it shows as text),
links only to http(s), mailto and the app's own paths, and every link opened without the opener."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_LINK = re.compile(r"^(https?:|mailto:|/(?!/))", re.IGNORECASE)
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
_md.enable(["table", "strikethrough"])
_md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]


def _link_open(renderer, tokens, index, options, env):  # type: ignore[no-untyped-def]
    token = tokens[index]
    if not str(token.attrGet("href") or "").startswith("/"):
        token.attrSet("rel", "noopener noreferrer")
        token.attrSet("target", "_blank")
    return renderer.renderToken(tokens, index, options, env)


_md.add_render_rule("link_open", _link_open)


def markdown(text: str | None) -> Markup:
    """``text`` as HTML; nothing in it can add markup of its own."""
    return Markup(_md.render(text or "").strip())  # markdown-it escapes raw HTML itself
