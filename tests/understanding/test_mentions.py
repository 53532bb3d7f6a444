"""Reading options in free words: item names, attributes in any order, orders by what is in
them, changes to a list of items. Precision first: words that fit two options choose neither."""

from __future__ import annotations

import datetime as dt

import pytest

from procpilot.domain.slots import Option, SlotDef
from procpilot.understanding import mentions, slot_reading

ITEMS = (
    Option("k1", "Mechanical Keyboard (linear, RGB, full size), $235.13"),
    Option("t1", "Smart Thermostat (Apple HomeKit, black), $262.47"),
    Option("v1", "Vacuum Cleaner (canister, bagged, pet hair removal), $622.12"),
    Option("v2", "Vacuum Cleaner (robotic, bagged, pet hair removal), $652.61"),
)
KEYBOARDS = (
    Option("c1", "switch type: clicky, backlight: none, size: full size, $226.02"),
    Option("c2", "switch type: clicky, backlight: RGB, size: 60%, $240.00"),
    Option("c3", "switch type: tactile, backlight: RGB, size: full size, $250.00"),
)
BOOTS = (
    Option("b1", "size: 8, material: leather, waterproof: yes, $200.00"),
    Option("b2", "size: 8, material: leather, waterproof: no, $180.00"),
    Option("b3", "size: 12, material: synthetic, waterproof: yes, $190.00"),
)
ORDERS = (
    Option("#W1", "#W1 (delivered): Laptop, Desk Lamp"),
    Option("#W2", "#W2 (delivered): Grill, Wireless Earbuds"),
)
NOW = dt.datetime(2026, 12, 1, 12)


def choose(slot: SlotDef, text: str, options: tuple[Option, ...], labels: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return slot_reading.choose(slot, text, options, labels or {}, asked=True)


def test_items_by_name_or_head_word_in_the_order_said() -> None:
    items = SlotDef("item_ids", "choice", multiple=True)
    assert choose(items, "the thermostat and the mechanical keyboard", ITEMS[:2]) == ["t1", "k1"]
    assert choose(items, "I want to return the keybaord", ITEMS[:2]) == ["k1"]  # a typo


def test_twins_are_told_apart_by_attributes_or_asked_about() -> None:
    item = SlotDef("item_id", "choice")
    assert choose(item, "the robotic vacuum cleaner", ITEMS) == "v2"
    ambiguous = choose(item, "the vacuum cleaner", ITEMS)
    assert isinstance(ambiguous, slot_reading.Ambiguous)
    assert set(ambiguous.candidates) == {"v1", "v2"}
    # Unasked (an opening message), nothing is guessed.
    assert slot_reading.choose(item, "the vacuum cleaner", ITEMS, {}, asked=False) is None


def test_variants_by_attributes_in_any_order_and_the_closest_on_a_tie() -> None:
    ranked = SlotDef("new_item_id", "choice", ties="first")
    asking = SlotDef("new_item_id", "choice")
    assert choose(ranked, "full size, clicky and no backlight", KEYBOARDS) == "c1"
    assert choose(ranked, "the clicky one", KEYBOARDS) == "c1"  # listed closest first
    assert choose(asking, "the clicky one", KEYBOARDS) is None  # fits two: ask
    assert choose(asking, "RGB with clicky switches", KEYBOARDS) == "c2"


def test_yes_no_attributes_sizes_and_numbers() -> None:
    new = SlotDef("new_item_id", "choice")
    assert choose(new, "size 8, leather, not waterproof", BOOTS) == "b2"
    assert choose(new, "Make it a waterproof one in size 12, please.", BOOTS) == "b3"
    bottles = (
        Option("a", "capacity: 500ml, color: black, $1"),
        Option("b", "capacity: 750ml, color: black, $2"),
    )
    assert choose(new, "the 750ml one", bottles) == "b"  # 750ml is not a typo of 500ml
    sizes = (Option("s", "size: S, color: red, $1"), Option("m", "size: M, color: red, $1"))
    assert choose(new, "I'm happy with red", sizes) is None  # the m of "I'm" is no size


def test_the_variant_of_the_item_being_changed_is_read_from_its_part_of_the_message() -> None:
    new = SlotDef("new_item_id", "choice", ties="first")
    shirts = (Option("s1", "color: red, size: M, $1"), Option("s2", "color: blue, size: M, $1"))
    labels = {
        "item_ids": "T-Shirt (blue, S), $1 | Running Shoes (red, 9), $2",
        "item_id": "T-Shirt (blue, S), $1",
    }
    text = "change the t-shirt to a blue one and the shoes to red"
    assert choose(new, text, shirts, labels) == "s2"


def test_orders_by_their_contents_and_cards_by_their_digits() -> None:
    order = SlotDef("order_id", "choice", description="order", option_value="order_id")
    assert choose(order, "The order with the laptop.", ORDERS) == "#W1"
    assert choose(order, "the one that has the grill in it", ORDERS) == "#W2"
    cards = (Option("cc", "Visa credit card ending 3194"), Option("pp", "PayPal (paypal_1)"))
    method = SlotDef("payment_method_id", "choice")
    assert choose(method, "my Visa ending in 3194", cards) == "cc"
    assert choose(method, "paypal please", cards) == "pp"


def test_synonyms_a_pack_declares() -> None:
    reason = SlotDef(
        "reason",
        "choice",
        options=(
            Option("no longer needed", "no longer needed", ("don't need it",)),
            Option("ordered by mistake", "ordered by mistake", ("by accident",)),
        ),
    )
    assert choose(reason, "I ordered it by accident", reason.options) == "ordered by mistake"
    assert choose(reason, "honestly I don't need it", reason.options) == "no longer needed"


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("not the thermostat, just the keyboard", ["k1", "t1"], ["k1"]),
        ("I also want the thermostat", ["k1"], ["k1", "t1"]),
        ("remove the keyboard", ["k1", "t1"], ["t1"]),
        ("the keyboard should be clicky", ["k1", "t1"], None),  # about an option, not the list
    ],
)
def test_changes_to_a_list_of_items(text: str, current: list[str], expected: list[str] | None) -> None:
    assert slot_reading.list_change(text, ITEMS[:2], current) == expected


def test_a_number_is_recalled_only_with_its_unit() -> None:
    days = SlotDef("days", "integer", description="number of working days")
    assert slot_reading.read(days, "I need 3 days off", (), {}, now=NOW, timezone="UTC", asked=False) == 3
    assert (
        slot_reading.read(days, "starting 9 December", (), {}, now=NOW, timezone="UTC", asked=False) is None
    )


def test_free_text_said_in_passing() -> None:
    merchant = SlotDef("merchant", "text", description="the merchant or the receipt number")
    reason = SlotDef("reason", "text", description="why you need it")
    assert slot_reading.free_text(merchant, "I paid $12 at Cafe Rossi yesterday") == "Cafe Rossi"
    assert slot_reading.free_text(reason, "GitHub for 30 days (to review the app)") == "to review the app"
    assert slot_reading.free_text(reason, "GitHub for 30 days") is None


def test_segments_and_order_references() -> None:
    text = "exchange the keyboard for a clicky one and the thermostat for Google Home"
    assert "google" not in mentions.segment(text, "Mechanical Keyboard", ["Smart Thermostat"]).lower()
    rest, reference = mentions.order_reference(
        "return the lamp from the order with the laptop and the lamp, please"
    )
    assert "laptop" in reference and "laptop" not in rest


def test_the_cheaper_and_the_most_expensive_one() -> None:
    new = SlotDef("new_item_id", "choice", options_from="variants")
    assert choose(new, "the cheaper one", KEYBOARDS) == "c1"
    assert choose(new, "give me the most expensive one", KEYBOARDS) == "c3"
