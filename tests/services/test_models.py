"""Model uses inside conversations: generate, review, rephrase, and usage on record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from procpilot.llm import ModelError
from procpilot.llm.providers.scripted import ScriptedModel
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from procpilot.storage.accounts import AccountRepository


@pytest.fixture
def container(tmp_path: Path, packs_dir: Path) -> Iterator[Container]:
    c = build(
        Settings(
            data_dir=tmp_path / "data",
            packs_dir=packs_dir,
            tenant_models={
                "writers": {"generate": {"model": "scripted", "max_tokens": 40}},
                "polite": {"rephrase": {"model": "scripted"}},
                "nomodel": {"generate": {"model": "none"}},
            },
        )
    )
    with c.database.transaction() as connection:
        for tenant in ("writers", "polite", "nomodel"):
            AccountRepository(connection).ensure_tenant(tenant)
    yield c
    c.close()


def say(container: Container, text: str, tenant: str, conversation: str = "c1", **kw: object) -> str:
    reply = container.conversations.handle(
        tenant=tenant, pack_id="mini", conversation_id=conversation, text=text, **kw
    )  # type: ignore[arg-type]
    return reply.text


def use_script(container: Container, *replies: object) -> ScriptedModel:
    model = ScriptedModel(list(replies))  # type: ignore[arg-type]
    container.models.registry.add(model)
    return model


def test_generate_uses_the_tenants_model_and_records_usage(container: Container) -> None:
    model = use_script(container, "A lovely note for you.")
    assert (
        say(container, "write a note", "writers") == "A lovely note for you.\nSaved: A lovely note for you."
    )
    assert "Note for you." in model.requests[0].messages[-1].content
    assert model.requests[0].sampling.max_tokens == 40
    usage = container.models.usage("writers", "c1")
    assert usage["calls"] == 1 and usage["completion_tokens"] > 0
    assert container.models.usage("polite")["calls"] == 0


def test_a_failing_model_falls_back_to_the_template(container: Container) -> None:
    use_script(container, ModelError("scripted", "is down"))
    assert say(container, "write a note", "writers") == "Note for you.\nSaved: Note for you."
    [event] = [
        e
        for e in container.conversations.events(tenant="writers", conversation_id="c1")
        if e["kind"] == "generate.completed"
    ]
    assert event["data"]["model"] == "scripted" and "is down" in event["data"]["error"]


def test_without_a_model_the_template_is_the_text(container: Container) -> None:
    assert say(container, "write a note", "nomodel") == "Note for you.\nSaved: Note for you."


def test_rephrasing_keeps_facts_or_is_dropped(container: Container) -> None:
    use_script(
        container, "Quick question: who gets the money?", "Sending $20.00 to Alice on 2026-12-01 — OK?"
    )
    assert say(container, "send money to a friend", "polite") == "Quick question: who gets the money?"
    say(container, "Alice", "polite")  # (scripted reply 2 answers this prompt)
    use_script(container, "How much would you like to send?", "Send $25.00 to Alice on 2026-12-01?")
    say(container, "20 dollars", "polite")
    # The model changed the amount: the template is said instead.
    assert say(container, "2026-12-01", "polite") == "Send $20.00 to Alice on 2026-12-01?"


def test_a_held_draft_is_sent_only_after_review(container: Container, mini_loaded: object) -> None:
    packs = container.catalog.packs_dir
    flow = packs / "mini" / "flows" / "review.yaml"
    flow.write_text(
        "id: draft_letter\nname: draft a letter\nexamples: [draft a letter]\nsteps:\n"
        "  - generate: Dear customer, your case 42 is closed.\n    review: true\n"
    )
    container.catalog.load_all()
    use_script(container, "Dear customer, case 42 is now closed.")
    said = say(container, "draft a letter", "writers", user_id="agent1")
    assert "case 42" not in said and "for approval" in said
    [task] = container.approvals.pending("writers")
    assert task["kind"] == "review" and "case 42 is now closed" in task["summary"]
    reply = container.approvals.decide(
        tenant="writers",
        approval_id=task["id"],
        outcome="approved",
        by="lead",
        text="Dear customer, case 42 is closed. Thanks!",
    )
    assert reply.text == "Dear customer, case 42 is closed. Thanks!"
