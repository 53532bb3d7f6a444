"""A conversation waiting in a flow goes on under the pack version it started with, after the pack
is changed and reloaded; conversations that start afterwards (or whose stack emptied) get the new one."""

from __future__ import annotations

from pathlib import Path

from procpilot.services.platform.container import Container


def say(container: Container, conversation: str, *texts: str) -> str:
    reply = None
    for text in texts:
        reply = container.conversations.handle(
            tenant="default", pack_id="mini", conversation_id=conversation, text=text, user_id="emma"
        )
    assert reply is not None
    return reply.text


def decide(container: Container, conversation: str) -> str:
    [task] = [t for t in container.approvals.pending("default") if t["conversation_id"] == conversation]
    return container.approvals.decide(
        tenant="default", approval_id=task["id"], outcome="approved", by="max"
    ).text


def test_a_waiting_flow_finishes_under_its_version_after_a_reload(
    container: Container, packs_dir: Path
) -> None:
    assert "for approval" in say(container, "old", "I need some days off", "3")
    flows = packs_dir / "mini" / "flows" / "others.yaml"
    text = flows.read_text()
    # Version 2: the approval step has another id and goes to another role; another answer.
    changed = text.replace(
        """      - approval:
          role: manager""",
        """      - id: ask_hr
        approval:
          role: people""",
    ).replace("Enjoy your {{ slots.days }} days off.", "HR agreed: {{ slots.days }} days off.")
    assert changed.count("ask_hr") == 1 and "HR agreed" in changed
    flows.write_text(changed)
    container.catalog.load_all()
    assert "mini" not in container.catalog.errors

    # The waiting conversation is decided under version 1 (whose approval step v2 does not have).
    assert "Enjoy your 3 days off." in decide(container, "old")
    # A new conversation runs version 2.
    say(container, "new", "I need some days off", "2")
    [task] = [t for t in container.approvals.pending("default") if t["conversation_id"] == "new"]
    assert task["role"] == "people" and task["step_id"] == "ask_hr"
    assert "HR agreed: 2 days off." in decide(container, "new")
    # The first conversation's stack emptied; its next flow runs version 2 as well.
    say(container, "old", "I need some days off", "5")
    assert "HR agreed: 5 days off." in decide(container, "old")


def test_a_worker_with_a_fresh_catalog_finds_the_version_in_the_database(
    container: Container, packs_dir: Path
) -> None:
    say(container, "c1", "I need some days off", "4")
    flows = packs_dir / "mini" / "flows" / "others.yaml"
    flows.write_text(flows.read_text().replace("Enjoy your {{ slots.days }} days off.", "Have fun."))
    # Another process (a worker started after the change) has never loaded version 1.
    from procpilot.services.platform.container import build

    other = build(container.settings)
    try:
        assert "Enjoy your 4 days off." in decide(other, "c1")
        say(other, "c2", "I need some days off", "2")
        assert "Have fun." in decide(other, "c2")
    finally:
        other.close()
