"""The timeline's sentences: names from the pack and the accounts, values formatted."""

from __future__ import annotations

from typing import Any

from procpilot.services.processes.readable import sentence, value_text


def test_values_read_as_a_person_writes_them() -> None:
    assert value_text({"amount": 120, "currency": "EUR"}) == "120.00 EUR"
    assert value_text({"name": "Olga Okafor", "id": "e015", "team": "Sales"}) == "Olga Okafor"
    assert value_text({"a": 1, "b": 2}) == "2 fields"
    assert value_text(["x", "y"]) == "x, y" and value_text([{"a": 1}] * 3) == "3 items"
    assert value_text(True) == "yes" and value_text(None) == "—"
    assert value_text("x" * 500).endswith("…") and len(value_text("x" * 500)) == 160


def test_events_become_sentences_with_the_packs_names(mini_loaded: Any) -> None:
    pack = mini_loaded.pack
    names = {"e005": "Eva Engel"}.get

    def said(kind: str, **data: Any) -> dict[str, Any]:
        return sentence(
            {"kind": kind, "data": {"flow": "leave", **data}},
            pack,
            "leave",
            lambda u: names(u or "", u or "—"),
        )

    assert said("flow.started") == {"key": "tl_flow_started", "args": {"flow": "request leave"}}
    assert said("slot.set", slot="days", value=3)["args"] == {"slot": "number of days", "value": "3"}
    assert said("approval.decided", by="e005", outcome="approved", comment="ok")["args"] == {
        "who": "Eva Engel", "outcome": "approved", "comment": ": “ok”"}  # fmt: skip
    asked = said("step.started", type="collect", step=pack.flows["leave"].steps[0].id)
    assert asked["key"] == "tl_asked_for" and asked["technical"]
    assert said("tool.failed", tool="get_balance", error="timed out")["args"] == {
        "tool": "get balance", "error": "timed out"}  # fmt: skip
    assert said("something.new")["key"] == "tl_other"
