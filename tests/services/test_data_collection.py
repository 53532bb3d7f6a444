"""Data collection through the services, on SQLite and PostgreSQL: turns recorded, ratings, queue
rules, leases, double review, datasets (hashing, versions, diff, erasure marks) and every export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from procpilot.domain.access import Principal, system_principal
from procpilot.domain.errors import NotFound, PermissionDenied, StateConflict, UserError
from procpilot.redaction import RedactionFailed
from procpilot.services.data.exports import FORMATS
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings

STEWARD = Principal("default", "steward", ("data_steward",))
ANNA = Principal("default", "anna", ("reviewer",))
BEN = Principal("default", "ben", ("reviewer",))
CARL = Principal("default", "carl", ("reviewer",))
CUSTOMER = Principal("default", "u1", ("agent_user",))


@pytest.fixture
def data_container(tmp_path: Path, packs_dir: Path, database_url: str) -> Iterator[Container]:
    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir, database_url=database_url))
    yield c
    c.close()


def say(container: Container, conversation: str, *lines: str, user: str = "u1") -> None:
    for line in lines:
        container.conversations.handle(
            tenant="default", pack_id="mini", conversation_id=conversation, text=line, user_id=user
        )


def bot_messages(container: Container, conversation: str) -> list[dict]:
    history = container.conversations.history(tenant="default", conversation_id=conversation)
    return [m for m in history["messages"] if m["role"] == "bot"]


def test_turns_are_recorded_and_routed_by_the_queue_rules(data_container: Container) -> None:
    c = data_container
    c.reviews.save_queue(STEWARD, "confused", signals=["out_of_scope", "rejected_answer"])
    c.reviews.save_queue(STEWARD, "everything", signals=[], sample_rate=1.0)
    c.reviews.save_queue(STEWARD, "none", signals=[], sample_rate=0.000001)
    say(
        c,
        "a1",
        "send money to a friend",
        "Alice",
        "5000 dollars",
        "Guten Tag, ich brauche bitte Hilfe mit meinem Konto",
    )
    confused = c.reviews.queue(STEWARD, "confused")["progress"]["items"]
    everything = c.reviews.queue(STEWARD, "everything")["progress"]["items"]
    assert everything == {"open": 4}
    assert confused.get("open") == 2  # the refused amount, and the message in German
    assert c.reviews.queue(STEWARD, "none")["progress"]["items"] == {}
    item = c.reviews.next_item(ANNA, "confused")
    assert item is not None and item["turn"]["text"] == "5000 dollars"
    assert item["reasons"] == ["rejected_answer"]
    assert item["turn"]["flow"] == "transfer_money"
    assert [m["text"] for m in item["conversation"] if m["this_turn"] and m["role"] == "user"] == [
        "5000 dollars"
    ]


def test_a_thumbs_down_sends_the_turn_to_its_queue_and_only_the_owner_rates(
    data_container: Container,
) -> None:
    c = data_container
    c.reviews.save_queue(STEWARD, "down", signals=["thumbs_down"], guideline="Fix the reply.")
    say(c, "b1", "what is my balance")
    [reply] = bot_messages(c, "b1")
    with pytest.raises(PermissionDenied):
        c.collection.rate(Principal("default", "someone", ("agent_user",)), "b1", reply["id"], "down")
    with pytest.raises(UserError):
        c.collection.rate(CUSTOMER, "b1", reply["id"], "sideways")
    with pytest.raises(NotFound):
        c.collection.rate(CUSTOMER, "b1", 10**9, "down")
    assert c.reviews.queue(STEWARD, "down")["progress"]["items"] == {}
    c.collection.rate(CUSTOMER, "b1", reply["id"], "up")
    c.collection.rate(CUSTOMER, "b1", reply["id"], "down", "wrong", "that is not my balance")
    assert [f["rating"] for f in c.collection.feedback("default", "b1")] == ["down"]  # rating again replaces
    item = c.reviews.next_item(ANNA, "down")
    assert item is not None and item["reasons"] == ["thumbs_down"]
    assert item["ratings"] == [
        {"rating": "down", "reason": "wrong", "comment": "that is not my balance", "by": "u1"}
    ]
    assert item["queue"]["guideline"] == "Fix the reply."
    admin = system_principal("default")
    [instance] = [i for i in c.instances.listing(admin, None) if i["conversation_id"] == "b1"]
    timeline = c.instances.timeline(admin, instance["id"])
    given = [e["data"] for e in timeline["entries"] if e["kind"] == "feedback.given"]
    assert given == [{"message_id": reply["id"], "user_id": "u1", "rating": "down", "reason": "wrong",
                      "comment": "that is not my balance"}]  # fmt: skip


def test_an_item_is_leased_to_one_reviewer_and_a_review_of_anothers_item_names_the_holder(
    data_container: Container,
) -> None:
    c = data_container
    c.reviews.save_queue(STEWARD, "all", signals=[], sample_rate=1.0)
    say(c, "l1", "what is my balance")
    first = c.reviews.next_item(ANNA, "all")
    assert first is not None
    assert c.reviews.next_item(BEN, "all") is None  # the only item is Anna's for now
    with pytest.raises(StateConflict, match="held by anna"):
        c.reviews.review(BEN, first["id"], "submit", {"reply": "mine"})
    c.reviews.review(ANNA, first["id"], "skip")
    again = c.reviews.next_item(BEN, "all")
    assert again is not None and again["id"] == first["id"]
    done = c.reviews.review(BEN, first["id"], "submit", {"intent": "check_balance"})
    assert done["status"] == "done"
    with pytest.raises(StateConflict, match="already done"):
        c.reviews.review(ANNA, first["id"], "submit", {"intent": "check_balance"})
    with pytest.raises(PermissionDenied):
        c.reviews.next_item(CUSTOMER, "all")


def test_a_lease_that_ran_out_lets_another_reviewer_take_the_item(tmp_path: Path, packs_dir: Path) -> None:
    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir))
    try:
        c.reviews.lease_seconds = -1  # every lease has already run out
        c.reviews.save_queue(STEWARD, "all", signals=[], sample_rate=1.0)
        say(c, "e1", "what is my balance")
        first = c.reviews.next_item(ANNA, "all")
        second = c.reviews.next_item(BEN, "all")
        assert first is not None and second is not None and second["id"] == first["id"]
        assert c.reviews.review(ANNA, first["id"], "submit", {"intent": "check_balance"})["status"] == "done"
    finally:
        c.close()


def test_two_reviewers_who_disagree_send_the_item_to_a_third(data_container: Container) -> None:
    c = data_container
    c.reviews.save_queue(STEWARD, "double", signals=[], sample_rate=1.0, reviews_needed=2)
    say(c, "d1", "what is my balance")
    item = c.reviews.next_item(ANNA, "double")
    assert item is not None
    assert c.reviews.review(ANNA, item["id"], "submit", {"intent": "check_balance"})["status"] == "open"
    with pytest.raises(StateConflict, match="already reviewed"):
        c.reviews.review(ANNA, item["id"], "submit", {"intent": "check_balance"})
    assert c.reviews.next_item(ANNA, "double") is None  # she answered it; it waits for another
    assert c.reviews.next_item(BEN, "double") is not None
    assert c.reviews.review(BEN, item["id"], "submit", {"intent": "close_account"})["status"] == "disputed"
    assert c.reviews.next_item(CARL, "double") is not None
    settled = c.reviews.review(CARL, item["id"], "submit", {"intent": "check_balance"})
    assert settled == {"id": item["id"], "status": "done", "answer": {"intent": "check_balance"}}
    kept = c.reviews.item(STEWARD, item["id"])["reviews"]
    assert [(r["reviewer"], r["answer"]["intent"]) for r in kept] == [
        ("anna", "check_balance"),
        ("ben", "close_account"),
        ("carl", "check_balance"),
    ]  # every answer kept, none overwritten
    test = yaml.safe_load(c.reviews.as_conversation_test(STEWARD, item["id"]))
    assert test["tests"][0]["steps"] == [
        {"user": "what is my balance", "expect": {"flow_started": "check_balance"}}
    ]


PII_LINES = (
    "send money to a friend",
    "Alice Jones",
    "20 dollars",
    "tomorrow",
    "no",
    "my name is Dana Whitfield, email dana.whitfield@example.com, phone +1 415 555 0132",
)


def _reviewed_dataset(c: Container) -> dict:
    c.reviews.save_queue(STEWARD, "all", signals=[], sample_rate=1.0)
    say(c, "p1", *PII_LINES)
    while (item := c.reviews.next_item(ANNA, "all")) is not None:
        if item["turn"]["text"].startswith("Alice"):
            c.reviews.review(ANNA, item["id"], "submit", {"slots": {"recipient": "Alice Jones"},
                                                          "reply": "How much should Alice Jones get?"})  # fmt: skip
        elif item["turn"]["text"].startswith("my name"):
            c.reviews.review(ANNA, item["id"], "submit", {"intent": "out_of_scope"})
        else:
            c.reviews.review(ANNA, item["id"], "skip")
    return c.datasets.build(STEWARD, "mini-train", {"packs": ["mini"]})


def test_a_dataset_version_is_redacted_hashed_versioned_and_diffed(data_container: Container) -> None:
    c = data_container
    first = _reviewed_dataset(c)
    assert first["version"] == 1 and first["items"] == len(PII_LINES) and not first["unchanged"]
    assert len(first["content_hash"]) == 64 and first["policy_version"]
    text = json.dumps(c.datasets.items(STEWARD, first["id"]), ensure_ascii=False)
    for secret in ("Dana", "Whitfield", "dana.whitfield@example.com", "555 0132", "Alice Jones"):
        assert secret not in text
    items = c.datasets.items(STEWARD, first["id"])
    alice = next(i for i in items if i["text"].startswith("<PERSON"))
    assert alice["review"]["slots"]["recipient"] == alice["text"]  # one pseudonym for one person
    assert alice["source"]["turn_id"] == alice["turn_id"] and alice["conversation_id"] == "p1"
    again = c.datasets.build(STEWARD, "mini-train", {"packs": ["mini"]})
    assert again["unchanged"] and again["id"] == first["id"]
    say(c, "p2", "what is my balance")
    second = c.datasets.build(STEWARD, "mini-train", {"packs": ["mini"]})
    assert second["version"] == 2 and second["content_hash"] != first["content_hash"]
    difference = c.datasets.diff(STEWARD, first["id"], second["id"])
    assert [a["conversation_id"] for a in difference["added"]] == ["p2"]
    assert difference["removed"] == [] and difference["changed"] == []
    reviewed = c.datasets.build(STEWARD, "mini-reviewed", {"reviewed_only": True})
    assert reviewed["items"] == 2
    assert c.datasets.conversation_erased("default", "p2") == [second["id"]]
    assert [v["erased_conversations"] for v in c.datasets.versions(STEWARD, "mini-train")] == [[], ["p2"]]
    c.datasets.delete(STEWARD, first["id"])
    assert [v["version"] for v in c.datasets.versions(STEWARD, "mini-train")] == [2]
    with pytest.raises(UserError, match="matches no turns"):
        c.datasets.build(STEWARD, "empty", {"packs": ["nothing-here"]})
    with pytest.raises(UserError, match="unknown query field"):
        c.datasets.build(STEWARD, "bad", {"pack": "mini"})
    with pytest.raises(PermissionDenied):
        c.datasets.build(ANNA, "mine", {})
    other = Principal("other", "steward", ("data_steward",))
    assert c.datasets.versions(other) == []
    with pytest.raises(NotFound):
        c.datasets.items(other, second["id"])


def test_every_export_format_and_the_record_of_each_export(data_container: Container) -> None:
    c = data_container
    version = _reviewed_dataset(c)
    [down] = [m for m in bot_messages(c, "p1") if "receive" in m["text"]][:1]
    c.collection.rate(CUSTOMER, "p1", down["id"], "down", "wrong")
    version = c.datasets.build(STEWARD, "mini-train", {"packs": ["mini"]})
    outputs = {}
    for name in FORMATS:
        try:
            outputs[name] = c.datasets.export(STEWARD, version["id"], name)
        except UserError as error:
            outputs[name] = (str(error), 0)
    sft = [json.loads(line) for line in outputs["openai-sft"][0].splitlines()]
    assert sft and all(row["messages"][-1]["role"] == "assistant" for row in sft)
    assert any(row["messages"][-1]["content"] == "How much should <PERSON_1> get?" for row in sft)
    dpo = [json.loads(line) for line in outputs["openai-dpo"][0].splitlines()]
    assert [row["preferred_output"][0]["content"] for row in dpo] == ["How much should <PERSON_1> get?"]
    assert dpo[0]["non_preferred_output"][0]["content"] == "How much?"
    kto = [json.loads(line) for line in outputs["kto"][0].splitlines()]
    assert [row["label"] for row in kto] == [False] and kto[0]["prompt"][-1]["role"] == "user"
    assert outputs["out-of-scope"][1] == 1 and outputs["out-of-scope"][0].startswith("my name is <PERSON")
    commands = [json.loads(line) for line in outputs["commands"][0].splitlines()]
    assert len(commands) == 2 and commands[0]["commands"]
    tests = yaml.safe_load(outputs["tests"][0])["tests"]
    assert tests[0]["steps"][-1]["expect"]["slots"] == {"recipient": "<PERSON_1>"}
    assert outputs["nlu"][1] == 0  # nothing labelled with a flow here: "has nothing to export"
    for text, _ in outputs.values():
        assert "Dana" not in text and "dana.whitfield" not in text and "Alice" not in text
    recorded = c.datasets.exports_of(STEWARD, version["id"])
    assert sorted(e["format"] for e in recorded) == sorted(n for n, (_, rows) in outputs.items() if rows)
    assert all(e["exported_by"] == "steward" for e in recorded)


def test_a_redaction_failure_stops_the_build_and_names_the_turn(tmp_path: Path, packs_dir: Path) -> None:
    class Broken:
        def redact_value(self, *args: object) -> object:
            raise RedactionFailed("redaction failed: the recognizer broke")

    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir))
    try:
        c.datasets._make = Broken  # type: ignore[assignment]
        say(c, "r1", "what is my balance")
        with pytest.raises(RedactionFailed, match=r"turn \d+ of conversation r1"):
            c.datasets.build(STEWARD, "x", {})
        assert c.datasets.versions(STEWARD) == []  # nothing stored, nothing to export
    finally:
        c.close()


def test_queue_setup_is_checked(data_container: Container) -> None:
    c = data_container
    with pytest.raises(UserError, match="unknown signal"):
        c.reviews.save_queue(STEWARD, "q", signals=["vibes"])
    with pytest.raises(UserError, match="needs signals"):
        c.reviews.save_queue(STEWARD, "q", signals=[])
    with pytest.raises(PermissionDenied):
        c.reviews.save_queue(ANNA, "q", signals=["thumbs_down"])
    c.reviews.save_queue(STEWARD, "only-ben", signals=["thumbs_down"], assignees=["ben"], assignee_role=None)
    assert [q["id"] for q in c.reviews.queues(BEN)] == ["only-ben"]
    assert c.reviews.queues(ANNA) == []
    with pytest.raises(NotFound):
        c.reviews.next_item(ANNA, "only-ben")


def test_the_intent_classifier_trains_on_the_intents_reviewers_settled(
    tmp_path: Path, packs_dir: Path, minilm: object
) -> None:
    """collect -> review -> dataset -> train: the reviewed message becomes a training example."""
    from procpilot.services.models import intent_models

    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir))
    try:
        c.reviews.save_queue(STEWARD, "all", signals=[], sample_rate=1.0)
        say(c, "t1", "could you wire some cash over to my brother", "cancel")
        say(c, "t2", "Guten Tag, wie spät ist es")
        while (item := c.reviews.next_item(ANNA, "all")) is not None:
            text = item["turn"]["text"]
            label = "transfer_money" if "wire" in text else "out_of_scope" if "Guten" in text else None
            c.reviews.review(
                ANNA, item["id"], "submit" if label else "skip", {"intent": label} if label else {}
            )
        version = c.datasets.build(STEWARD, "intents", {"reviewed_only": True})
        items = c.datasets.items(STEWARD, version["id"])
        pack = c.catalog.get("mini").loaded.pack
        pairs = intent_models.reviewed_examples(pack, items)
        assert sorted(label for _, label in pairs) == ["out_of_scope", "transfer_money"]
        model = intent_models.train(pack, minilm, tmp_path / "models", reviewed=pairs, dataset=version["id"])  # type: ignore[arg-type]
        assert model.metrics["reviewed_examples"] == 2 and model.metrics["dataset"] == version["id"]
        meta = json.loads((model.folder / "meta.json").read_text())
        assert meta["dataset"] == version["id"]
        with pytest.raises(UserError, match="not a flow"):
            intent_models.train(
                pack, minilm, tmp_path / "models", reviewed=[("x", "no_such_flow")], dataset="d"
            )  # type: ignore[arg-type]
    finally:
        c.close()


def test_a_flow_started_on_a_weak_reading_is_a_low_confidence_turn(data_container: Container) -> None:
    c = data_container
    c.reviews.save_queue(STEWARD, "unsure", signals=["low_confidence"])
    say(c, "w1", "what is my balance")  # one of the flow's own examples: a clear request
    assert c.reviews.queue(STEWARD, "unsure")["progress"]["items"] == {}
    understanding = c.catalog.get("mini").understanding
    assert not understanding.low_confidence("what is my balance", "check_balance")
    assert understanding.low_confidence("what is my balance", "transfer_money")  # another flow's words
    assert understanding.low_confidence("hmm, the thing with the stuff", "check_balance")
    say(c, "w2", "how much is in there")  # routed to check_balance, on a weaker match
    item = c.reviews.next_item(ANNA, "unsure")
    assert (
        item is not None and item["reasons"] == ["low_confidence"] and item["turn"]["flow"] == "check_balance"
    )


def test_the_demo_queue_is_made_once_and_its_reviewer_sees_it(data_container: Container) -> None:
    from procpilot.services.platform.demo import ensure_demo_accounts, ensure_demo_queue

    c = data_container
    ensure_demo_queue(c.reviews, "default")
    ensure_demo_queue(c.reviews, "default")
    ensure_demo_accounts(c.accounts, "default")
    rita = Principal("default", "rita", ("reviewer", "data_steward"))
    assert [q["id"] for q in c.reviews.queues(rita)] == ["needs-a-look"]
    say(c, "q1", "what is my balance")
    [reply] = bot_messages(c, "q1")
    c.collection.rate(CUSTOMER, "q1", reply["id"], "down")
    assert c.reviews.next_item(rita, "needs-a-look") is not None
